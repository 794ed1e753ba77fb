# Training parity against PyTorch, part 2: a hand-written PyTorch copy of the probe model (HF's
# ViTModel + TrOCRForCausalLM semantics, weights by HF name from OUT/init/model.safetensors)
# replays the steps of train_parity.mjs on the same batches with torch.optim.AdamW. It checks the
# first step's gradients against ours (attention key biases excepted: their gradient is zero up to rounding,
# softmax being shift-invariant) and prints the losses to compare with the node run's.
import json, struct, os, math
import numpy as np, torch, torch.nn.functional as F
torch.manual_seed(0)
OUT=os.environ.get('OUT','.tmp-torch-reference')
def load_st(path):
    b=open(path,'rb').read(); n=struct.unpack('<Q',b[:8])[0]; h=json.loads(b[8:8+n]); base=8+n; out={}
    for k,v in h.items():
        if k=='__metadata__': continue
        s,e=v['data_offsets']; dt={'F32':np.float32,'I64':np.int64}[v['dtype']]
        out[k]=torch.from_numpy(np.frombuffer(b[base+s:base+e],dtype=dt).reshape(v['shape']).copy())
    return out
W=load_st(f'{OUT}/init/model.safetensors')
D=load_st(f'{OUT}/data.safetensors')
P={k:torch.nn.Parameter(v.clone()) for k,v in W.items()}
cfg=json.load(open(f'{OUT}/init/config.json'))
ec,dc=cfg['encoder'],cfg['decoder']
def lin(x,n,bias=True): return F.linear(x,P[n+'.weight'],P.get(n+'.bias') if bias else None)
def ln(x,n,eps): return F.layer_norm(x,(x.shape[-1],),P[n+'.weight'],P[n+'.bias'],eps)
def encoder(pv):
    e='encoder.'
    x=F.conv2d(pv,P[e+'embeddings.patch_embeddings.projection.weight'],P[e+'embeddings.patch_embeddings.projection.bias'],stride=ec['patch_size'])
    x=x.flatten(2).transpose(1,2)
    B=x.shape[0]
    x=torch.cat([P[e+'embeddings.cls_token'].expand(B,-1,-1),x],1)+P[e+'embeddings.position_embeddings']
    H=ec['num_attention_heads']; d=ec['hidden_size']//H
    for i in range(ec['num_hidden_layers']):
        p=f'{e}encoder.layer.{i}.'
        h=ln(x,p+'layernorm_before',ec['layer_norm_eps'])
        q,k,v=[lin(h,p+'attention.attention.'+t).view(B,-1,H,d).transpose(1,2) for t in ('query','key','value')]
        a=torch.softmax(q@k.transpose(-1,-2)/math.sqrt(d),-1)@v
        x=x+lin(a.transpose(1,2).reshape(B,-1,H*d),p+'attention.output.dense')
        h=ln(x,p+'layernorm_after',ec['layer_norm_eps'])
        x=x+lin(F.gelu(lin(h,p+'intermediate.dense')),p+'output.dense')
    return ln(x,e+'layernorm',ec['layer_norm_eps'])
def attn(x,kv,p,H,causal):
    B,T,C=x.shape; d=C//H
    q=(lin(x,p+'q_proj')*d**-0.5).view(B,T,H,d).transpose(1,2)
    k=lin(kv,p+'k_proj').view(B,-1,H,d).transpose(1,2); v=lin(kv,p+'v_proj').view(B,-1,H,d).transpose(1,2)
    s=q@k.transpose(-1,-2)
    if causal: s=s.masked_fill(torch.triu(torch.ones(T,T,dtype=torch.bool),1),float('-inf'))
    return lin((torch.softmax(s,-1)@v).transpose(1,2).reshape(B,T,C),p+'out_proj')
def decoder(ids,enc):
    p='decoder.model.decoder.'
    B,T=ids.shape
    x=F.embedding(ids,P[p+'embed_tokens.weight'])*(math.sqrt(dc['d_model']) if dc['scale_embedding'] else 1)
    x=x+P[p+'embed_positions.weight'][torch.arange(T)+2]
    x=ln(x,p+'layernorm_embedding',1e-5)
    for i in range(dc['decoder_layers']):
        q=f'{p}layers.{i}.'
        x=ln(x+attn(x,x,q+'self_attn.',dc['decoder_attention_heads'],True),q+'self_attn_layer_norm',1e-5)
        x=ln(x+attn(x,enc,q+'encoder_attn.',dc['decoder_attention_heads'],False),q+'encoder_attn_layer_norm',1e-5)
        x=ln(x+lin(F.gelu(lin(x,q+'fc1')),q+'fc2'),q+'final_layer_norm',1e-5)
    return F.linear(x,P.get('decoder.output_projection.weight',P[p+'embed_tokens.weight']))
def loss_fn(pv,labels):
    dec_in=torch.cat([torch.zeros_like(labels[:,:1]),labels[:,:-1]],1); dec_in=dec_in.masked_fill(dec_in==-100,1)
    logits=decoder(dec_in,encoder(pv))
    return F.cross_entropy(logits.reshape(-1,logits.shape[-1]),labels.reshape(-1),ignore_index=-100)
pvs=D['pixel_values']; labs=D['labels'].long()
LR=float(os.environ.get('LR','1e-3')); STEPS=int(os.environ.get('STEPS','60'))
opt=torch.optim.AdamW(list(P.values()),lr=LR,weight_decay=0)
for step in range(STEPS):
    idx=[(step*32+k*7)%400 for k in range(32)]
    opt.zero_grad(); L=loss_fn(pvs[idx],labs[idx]); L.backward()
    if step==0:
        G=load_st(f'{OUT}/grads0.safetensors'); worst=0
        for k,v in G.items():
            g=P[k].grad; r=((g-v).abs().max()/(g.abs().max()+1e-12)).item()
            if not k.endswith(('key.bias','k_proj.bias')): worst=max(worst,r)
            if r>1e-3 and not k.endswith(('key.bias','k_proj.bias')): print('GRAD MISMATCH',k,r)
        print('grads0 max rel err',worst,'nograd',[k for k in P if P[k].grad is None or k not in G][:5])
    opt.step()
    print(f'step {step} loss {L.item():.4f}')
