# How fast do different image models learn glyphs? A 36-class single-character task (rendered
# by `ved synth`-style lines, processed to 32x32, dumped by glyph_baselines.mjs), 200 AdamW steps
# of batch 24, accuracy on 200 held-out images: a linear classifier, an MLP, a small CNN and a
# plain ViT classifier (4 pre-LN layers, d 192, patch 8), for comparison with the first-token
# accuracy of our ViT/Swin encoder-decoders on the same task (scripts/probe-learning.mjs style).
#
#   node scripts/torch-reference/glyph_baselines.mjs && python3 scripts/torch-reference/glyph_baselines.py
import json, os, struct, numpy as np, torch, torch.nn.functional as F
OUT = os.environ.get('OUT', '.tmp-torch-reference')
b = open(f'{OUT}/glyphs.safetensors', 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n
def get(k): s, e = h[k]['data_offsets']; return torch.from_numpy(np.frombuffer(b[base + s:base + e], dtype=np.float32).reshape(h[k]['shape']).copy())
x = get('x'); y = get('y').long(); C = int(y.max()) + 1
xt, yt, xv, yv = x[200:], y[200:], x[:200], y[:200]

class ViT(torch.nn.Module):
    def __init__(s, d=192, L=4, patch=8):
        super().__init__()
        s.pe = torch.nn.Conv2d(3, d, patch, patch); n = (32 // patch) ** 2
        s.cls = torch.nn.Parameter(torch.zeros(1, 1, d)); s.pos = torch.nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
        s.enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(d, 6, 4 * d, 0.0, activation='gelu', batch_first=True, norm_first=True), L)
        s.ln = torch.nn.LayerNorm(d); s.head = torch.nn.Linear(d, C)
    def forward(s, x):
        t = s.pe(x).flatten(2).transpose(1, 2); t = torch.cat([s.cls.expand(len(t), -1, -1), t], 1) + s.pos
        return s.head(s.ln(s.enc(t))[:, 0])

flat = lambda m: torch.nn.Sequential(torch.nn.Flatten(), *m)
models = {
    'linear': lambda: flat([torch.nn.Linear(3 * 32 * 32, C)]),
    'mlp': lambda: flat([torch.nn.Linear(3072, 256), torch.nn.GELU(), torch.nn.Linear(256, C)]),
    'cnn': lambda: torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64 * 64, C)),
    'vit': ViT,
}
for name, make in models.items():
    for lr in ([3e-4, 1e-3] if name == 'vit' else [1e-3]):
        torch.manual_seed(0); model = make(); opt = torch.optim.AdamW(model.parameters(), lr=lr)
        for step in range(200):
            i = torch.arange(step * 24, step * 24 + 24) % len(xt)
            loss = F.cross_entropy(model(xt[i]), yt[i]); opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad(): acc = (model(xv).argmax(1) == yv).float().mean().item()
        print(f'{name:6s} lr {lr:g}: accuracy after 200 steps {acc:.3f} (chance {1 / C:.3f})')
