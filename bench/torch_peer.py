# The benchmark's PyTorch peer (bench/main.ts launches it as a child of each model's process):
# the bench's model shapes written in plain PyTorch eager, as transformers' modeling_vit.py,
# modeling_gpt2.py and modeling_trocr.py compute them, with random weights of the same shapes and
# dtype (float32). Timing only: nothing here is compared for values.
#
# Same algorithm cost as ours: the cross-attention K/V are computed once per image (in the
# "encoder" figure, as our encoder session does), the self-attention cache grows by one position
# a step, beam search runs its beams as one batch of 4 and reorders the cache by index_select, and
# the training step is forward + backward + torch.optim.AdamW on every parameter.
#
# Protocol (one JSON object a line): stdin's first line is the spec {encoder, decoder, batch,
# new_tokens, train_batch, threads, decoder_start_token_id}; the script builds and warms up, then
# prints {"ready": ...}. Each later line "round" runs one round of every measurement and prints
# its seconds; "quit" (or the end of stdin) ends it. The parent is idle while a round runs, so the
# two processes never share the cores.
import json, math, sys, time

import torch
import torch.nn.functional as F


def pair(v):
    return (v[0], v[1]) if isinstance(v, list) else (v, v)


class Params:
    """Random float32 weights by HF name; nn.Linear layout [out, in], GPT-2 Conv1D [in, out]."""

    def __init__(self):
        self.p = {}
        self.g = torch.Generator().manual_seed(0)

    def add(self, name, *shape, std=0.02, fill=None):
        t = torch.full(shape, fill) if fill is not None else torch.randn(*shape, generator=self.g) * std
        self.p[name] = torch.nn.Parameter(t)
        return self.p[name]

    def linear(self, name, n_in, n_out, bias=True):
        self.add(name + '.weight', n_out, n_in)
        if bias: self.add(name + '.bias', n_out, fill=0.0)

    def conv1d(self, name, n_in, n_out):
        self.add(name + '.weight', n_in, n_out)
        self.add(name + '.bias', n_out, fill=0.0)

    def ln(self, name, n):
        self.add(name + '.weight', n, fill=1.0)
        self.add(name + '.bias', n, fill=0.0)

    def __getitem__(self, k):
        return self.p[k]

    def get(self, k):
        return self.p.get(k)


class ViT:
    """ViTModel (modeling_vit.py): patch embedding, CLS + positions, pre-LN layers, final LayerNorm."""

    def __init__(self, c, P):
        self.c, self.P = c, P
        self.d = c['hidden_size']
        self.heads = c['num_attention_heads']
        self.eps = c.get('layer_norm_eps', 1e-12)
        self.drop = c.get('hidden_dropout_prob', 0.0)
        self.adrop = c.get('attention_probs_dropout_prob', 0.0)
        h, w = pair(c['image_size'])
        ph, pw = pair(c['patch_size'])
        self.image, self.patch = (h, w), (ph, pw)
        self.tokens = (h // ph) * (w // pw) + 1
        e = 'encoder.'
        P.add(e + 'embeddings.cls_token', 1, 1, self.d)
        P.add(e + 'embeddings.position_embeddings', 1, self.tokens, self.d)
        P.add(e + 'embeddings.patch_embeddings.projection.weight', self.d, c.get('num_channels', 3), ph, pw)
        P.add(e + 'embeddings.patch_embeddings.projection.bias', self.d, fill=0.0)
        for i in range(c['num_hidden_layers']):
            p = f'{e}encoder.layer.{i}.'
            P.ln(p + 'layernorm_before', self.d)
            for t in ('query', 'key', 'value'): P.linear(p + 'attention.attention.' + t, self.d, self.d, c.get('qkv_bias', True))
            P.linear(p + 'attention.output.dense', self.d, self.d)
            P.ln(p + 'layernorm_after', self.d)
            P.linear(p + 'intermediate.dense', self.d, c['intermediate_size'])
            P.linear(p + 'output.dense', c['intermediate_size'], self.d)
        P.ln(e + 'layernorm', self.d)
        P.linear(e + 'pooler.dense', self.d, self.d)

    def lin(self, x, n):
        return F.linear(x, self.P[n + '.weight'], self.P.get(n + '.bias'))

    def ln(self, x, n):
        return F.layer_norm(x, (self.d,), self.P[n + '.weight'], self.P[n + '.bias'], self.eps)

    def __call__(self, pv, train):
        P, e = self.P, 'encoder.'
        x = F.conv2d(pv, P[e + 'embeddings.patch_embeddings.projection.weight'], P[e + 'embeddings.patch_embeddings.projection.bias'], stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat([P[e + 'embeddings.cls_token'].expand(B, -1, -1), x], 1) + P[e + 'embeddings.position_embeddings']
        x = F.dropout(x, self.drop, train)
        H = self.heads
        dh = self.d // H
        for i in range(self.c['num_hidden_layers']):
            p = f'{e}encoder.layer.{i}.'
            h = self.ln(x, p + 'layernorm_before')
            q, k, v = [self.lin(h, p + 'attention.attention.' + t).view(B, -1, H, dh).transpose(1, 2) for t in ('query', 'key', 'value')]
            a = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1), self.adrop, train) @ v
            x = x + F.dropout(self.lin(a.transpose(1, 2).reshape(B, -1, self.d), p + 'attention.output.dense'), self.drop, train)
            h = self.ln(x, p + 'layernorm_after')
            x = x + F.dropout(self.lin(F.gelu(self.lin(h, p + 'intermediate.dense')), p + 'output.dense'), self.drop, train)
        # The pooler (pooler.dense) is a parameter but not computed: no output here depends on it,
        # and our graphs prune it.
        return self.ln(x, e + 'layernorm')


def attend(q, k, v, scale, causal=False, drop=0.0, train=False):
    """q [B,H,T,dh], k/v [B,H,S,dh] -> [B,T,H*dh]; causal masks the future when T = S."""
    s = (q @ k.transpose(-1, -2)) * scale
    if causal:
        T = q.shape[2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float('-inf'))
    a = F.dropout(torch.softmax(s, -1), drop, train) @ v
    B, H, T, dh = a.shape
    return a.transpose(1, 2).reshape(B, T, H * dh)


def heads(x, H):
    B, T, C = x.shape
    return x.view(B, T, H, C // H).transpose(1, 2)


class GPT2:
    """GPT2LMHeadModel with cross-attention (modeling_gpt2.py): Conv1D weights [in, out], LM head tied to wte."""

    def __init__(self, c, P):
        self.c, self.P = c, P
        self.d = c.get('n_embd', 768)
        self.H = c.get('n_head', 12)
        self.L = c.get('n_layer', 12)
        self.V = c['vocab_size']
        self.eps = c.get('layer_norm_epsilon', 1e-5)
        self.resid, self.embd, self.attn = c.get('resid_pdrop', 0.1), c.get('embd_pdrop', 0.1), c.get('attn_pdrop', 0.1)
        self.scale = 1 / math.sqrt(self.d // self.H)
        d, p = self.d, 'decoder.transformer.'
        P.add(p + 'wte.weight', self.V, d)
        P.add(p + 'wpe.weight', c.get('n_positions', 1024), d, std=0.01)
        for i in range(self.L):
            q = f'{p}h.{i}.'
            P.ln(q + 'ln_1', d)
            P.conv1d(q + 'attn.c_attn', d, 3 * d)
            P.conv1d(q + 'attn.c_proj', d, d)
            P.ln(q + 'ln_cross_attn', d)
            P.conv1d(q + 'crossattention.q_attn', d, d)
            P.conv1d(q + 'crossattention.c_attn', d, 2 * d)
            P.conv1d(q + 'crossattention.c_proj', d, d)
            P.ln(q + 'ln_2', d)
            P.conv1d(q + 'mlp.c_fc', d, 4 * d)
            P.conv1d(q + 'mlp.c_proj', 4 * d, d)
        P.ln(p + 'ln_f', d)
        self.p = p

    def conv(self, x, n):
        # Conv1D.forward: addmm over the flattened rows.
        sh = x.shape[:-1]
        w = self.P[n + '.weight']
        return torch.addmm(self.P[n + '.bias'], x.reshape(-1, x.shape[-1]), w).view(*sh, w.shape[1])

    def ln(self, x, n):
        return F.layer_norm(x, (self.d,), self.P[n + '.weight'], self.P[n + '.bias'], self.eps)

    def cross_kv(self, enc):
        """Each layer's cross-attention K/V [B,H,S,dh], once per image."""
        out = []
        for i in range(self.L):
            k, v = self.conv(enc, f'{self.p}h.{i}.crossattention.c_attn').split(self.d, 2)
            out.append((heads(k, self.H), heads(v, self.H)))
        return out

    def __call__(self, ids, pos0, cross, past, train=False):
        """ids [B,T] from position pos0; past: per layer (k, v) [B,H,pos0,dh] or None. Returns logits [B,T,V] and the new past."""
        P, p, H = self.P, self.p, self.H
        T = ids.shape[1]
        x = F.embedding(ids, P[p + 'wte.weight']) + P[p + 'wpe.weight'][pos0:pos0 + T]
        x = F.dropout(x, self.embd, train)
        new = []
        for i in range(self.L):
            q = f'{p}h.{i}.'
            qq, k, v = self.conv(self.ln(x, q + 'ln_1'), q + 'attn.c_attn').split(self.d, 2)
            qq, k, v = heads(qq, H), heads(k, H), heads(v, H)
            if past is not None:
                k = torch.cat([past[i][0], k], 2)
                v = torch.cat([past[i][1], v], 2)
            new.append((k, v))
            a = attend(qq, k, v, self.scale, causal=T > 1, drop=self.attn, train=train)
            x = x + F.dropout(self.conv(a, q + 'attn.c_proj'), self.resid, train)
            qq = heads(self.conv(self.ln(x, q + 'ln_cross_attn'), q + 'crossattention.q_attn'), H)
            a = attend(qq, cross[i][0], cross[i][1], self.scale, drop=self.attn, train=train)
            x = x + F.dropout(self.conv(a, q + 'crossattention.c_proj'), self.resid, train)
            h = self.conv(F.gelu(self.conv(self.ln(x, q + 'ln_2'), q + 'mlp.c_fc'), approximate='tanh'), q + 'mlp.c_proj')
            x = x + F.dropout(h, self.resid, train)
        x = self.ln(x, p + 'ln_f')
        return F.linear(x, P[p + 'wte.weight']), new


class TrOCR:
    """TrOCRForCausalLM (modeling_trocr.py): post-LN layers, learned positions (offset 2), output projection tied to the token table."""

    def __init__(self, c, P, enc_hidden):
        self.c, self.P = c, P
        self.d = c['d_model']
        self.H = c['decoder_attention_heads']
        self.L = c['decoder_layers']
        self.V = c['vocab_size']
        self.drop, self.adrop, self.actdrop = c.get('dropout', 0.1), c.get('attention_dropout', 0.0), c.get('activation_dropout', 0.0)
        self.embed_scale = math.sqrt(self.d) if c.get('scale_embedding', False) else 1.0
        self.scale = (self.d // self.H) ** -0.5
        kv_in = c.get('cross_attention_hidden_size') or enc_hidden
        d, ffn, p = self.d, c['decoder_ffn_dim'], 'decoder.model.decoder.'
        P.add(p + 'embed_tokens.weight', self.V, d)
        P.add(p + 'embed_positions.weight', c.get('max_position_embeddings', 512) + 2, d)
        if c.get('layernorm_embedding', True): P.ln(p + 'layernorm_embedding', d)
        for i in range(self.L):
            q = f'{p}layers.{i}.'
            for t in ('q_proj', 'k_proj', 'v_proj', 'out_proj'): P.linear(q + 'self_attn.' + t, d, d)
            P.ln(q + 'self_attn_layer_norm', d)
            P.linear(q + 'encoder_attn.q_proj', d, d)
            P.linear(q + 'encoder_attn.k_proj', kv_in, d)
            P.linear(q + 'encoder_attn.v_proj', kv_in, d)
            P.linear(q + 'encoder_attn.out_proj', d, d)
            P.ln(q + 'encoder_attn_layer_norm', d)
            P.linear(q + 'fc1', d, ffn)
            P.linear(q + 'fc2', ffn, d)
            P.ln(q + 'final_layer_norm', d)
        self.p = p

    def lin(self, x, n):
        return F.linear(x, self.P[n + '.weight'], self.P.get(n + '.bias'))

    def ln(self, x, n):
        return F.layer_norm(x, (self.d,), self.P[n + '.weight'], self.P[n + '.bias'], 1e-5)

    def cross_kv(self, enc):
        return [(heads(self.lin(enc, f'{self.p}layers.{i}.encoder_attn.k_proj'), self.H), heads(self.lin(enc, f'{self.p}layers.{i}.encoder_attn.v_proj'), self.H)) for i in range(self.L)]

    def __call__(self, ids, pos0, cross, past, train=False):
        P, p, H = self.P, self.p, self.H
        T = ids.shape[1]
        x = F.embedding(ids, P[p + 'embed_tokens.weight']) * self.embed_scale + P[p + 'embed_positions.weight'][pos0 + 2:pos0 + 2 + T]
        if P.get(p + 'layernorm_embedding.weight') is not None: x = self.ln(x, p + 'layernorm_embedding')
        x = F.dropout(x, self.drop, train)
        new = []
        for i in range(self.L):
            q = f'{p}layers.{i}.'
            s = q + 'self_attn.'
            qq = heads(self.lin(x, s + 'q_proj'), H)
            k, v = heads(self.lin(x, s + 'k_proj'), H), heads(self.lin(x, s + 'v_proj'), H)
            if past is not None:
                k = torch.cat([past[i][0], k], 2)
                v = torch.cat([past[i][1], v], 2)
            new.append((k, v))
            a = attend(qq, k, v, self.scale, causal=T > 1, drop=self.adrop, train=train)
            x = self.ln(x + F.dropout(self.lin(a, s + 'out_proj'), self.drop, train), q + 'self_attn_layer_norm')
            a = attend(heads(self.lin(x, q + 'encoder_attn.q_proj'), H), cross[i][0], cross[i][1], self.scale, drop=self.adrop, train=train)
            x = self.ln(x + F.dropout(self.lin(a, q + 'encoder_attn.out_proj'), self.drop, train), q + 'encoder_attn_layer_norm')
            h = self.lin(F.dropout(F.gelu(self.lin(x, q + 'fc1')), self.actdrop, train), q + 'fc2')
            x = self.ln(x + F.dropout(h, self.drop, train), q + 'final_layer_norm')
        return F.linear(x, P[p + 'embed_tokens.weight']), new


class Peer:
    def __init__(self, spec):
        enc, dec = spec['encoder'], spec['decoder']
        if enc.get('model_type') != 'vit': raise SystemExit(f"torch_peer: encoder {enc.get('model_type')} is not written here (ViT only)")
        self.P = Params()
        self.encoder = ViT(enc, self.P)
        mt = dec.get('model_type')
        if mt == 'gpt2': self.decoder = GPT2(dec, self.P)
        elif mt == 'trocr': self.decoder = TrOCR(dec, self.P, self.encoder.d)
        else: raise SystemExit(f'torch_peer: decoder {mt} is not written here (gpt2, trocr)')
        self.start = spec.get('decoder_start_token_id', 0)
        self.new_tokens = spec['new_tokens']
        self.batch = spec['batch']
        self.train_batch = spec.get('train_batch')
        g = torch.Generator().manual_seed(1)
        h, w = self.encoder.image
        ch = enc.get('num_channels', 3)
        self.px1 = torch.rand(1, ch, h, w, generator=g) * 2 - 1
        self.pxB = torch.rand(self.batch, ch, h, w, generator=g) * 2 - 1
        if self.train_batch:
            self.pxT = torch.rand(self.train_batch, ch, h, w, generator=g) * 2 - 1
            self.labels = torch.tensor([3 + (i % 50) for i in range(self.train_batch * self.new_tokens)]).view(self.train_batch, self.new_tokens)
            self.opt = torch.optim.AdamW(list(self.P.p.values()), lr=1e-5)
        self.params = sum(t.numel() for t in self.P.p.values())

    def encode(self, px):
        """What our encoder session computes: the encoder states and every layer's cross-attention K/V."""
        x = self.encoder(px, False)
        return self.decoder.cross_kv(x)

    @torch.inference_mode()
    def time_encoder(self, px):
        t0 = time.perf_counter()
        self.encode(px)
        return time.perf_counter() - t0

    @torch.inference_mode()
    def greedy(self, steps=None):
        """Greedy decoding of new_tokens tokens (argmax, no early stop); with `steps`, records each step's seconds."""
        t0 = time.perf_counter()
        cross = self.encode(self.px1)
        ids = torch.full((1, 1), self.start, dtype=torch.long)
        past = None
        out = []
        for i in range(self.new_tokens):
            ts = time.perf_counter()
            logits, past = self.decoder(ids, i, cross, past)
            ids = logits[:, -1].argmax(-1, keepdim=True)
            out.append(ids)
            if steps is not None: steps.append(time.perf_counter() - ts)
        return time.perf_counter() - t0

    @torch.inference_mode()
    def beam(self, beams=4):
        """Beam search as transformers runs it: the beams as one batch, log-softmax + the beam scores,
        the top 2 x beams over beams x vocab, and the cache reordered by index_select."""
        t0 = time.perf_counter()
        cross = [(k.expand(beams, -1, -1, -1), v.expand(beams, -1, -1, -1)) for k, v in self.encode(self.px1)]
        V = self.decoder.V
        ids = torch.full((beams, 1), self.start, dtype=torch.long)
        scores = torch.full((beams,), -1e9)
        scores[0] = 0
        past = None
        seqs = ids
        for i in range(self.new_tokens):
            logits, past = self.decoder(ids, i, cross, past)
            lp = torch.log_softmax(logits[:, -1], -1) + scores[:, None]
            top, idx = lp.view(-1).topk(2 * beams)
            src = torch.div(idx, V, rounding_mode='floor')[:beams]
            tok = (idx % V)[:beams]
            scores = top[:beams]
            past = [(k.index_select(0, src), v.index_select(0, src)) for k, v in past]
            seqs = torch.cat([seqs.index_select(0, src), tok[:, None]], 1)
            ids = tok[:, None]
        return time.perf_counter() - t0

    def train_step(self):
        """One training step: teacher-forced loss on labels, backward, AdamW."""
        t0 = time.perf_counter()
        x = self.encoder(self.pxT, True)
        cross = self.decoder.cross_kv(x)
        dec_in = torch.cat([torch.full_like(self.labels[:, :1], self.start), self.labels[:, :-1]], 1)
        logits, _ = self.decoder(dec_in, 0, cross, None, train=True)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self.labels.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return time.perf_counter() - t0

    def round(self):
        r = {'enc1': self.time_encoder(self.px1), 'encB': self.time_encoder(self.pxB)}
        steps = []
        self.greedy(steps)
        r['step1'], r['step16'] = steps[0], steps[-1]
        r['greedy'] = self.greedy()
        r['beam4'] = self.beam()
        if self.train_batch: r['train'] = self.train_step()
        return r


def blas():
    """The BLAS library this process loaded (Debian's torch calls libblas.so.3, an alternative)."""
    try:
        libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.split()[-1].lower()})
        return next((l for l in libs if 'libopenblas' in l), libs[0] if libs else 'unknown')
    except OSError:
        return 'unknown'


def main():
    spec = json.loads(sys.stdin.readline())
    torch.set_num_threads(spec.get('threads', 2))
    peer = Peer(spec)
    # Warm-up: every path once (allocator, OpenBLAS threads, autograd and AdamW state).
    peer.round()
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'params': peer.params, 'blas': blas()}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'quit': break
        if cmd == 'round': print(json.dumps(peer.round()), flush=True)


if __name__ == '__main__':
    main()
