// The demo page: load the bundled model once, then read each chosen image and show the text
// and the time it took (preprocessing + encoder + decoding, in this page).
import { AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel } from 'vision-encoder-decoder';

const MODEL = new URL('../../models/ved-ocr-small/', import.meta.url).href;
const EXAMPLES = [1, 2, 3, 4, 5, 6].map((i) => new URL(`../line-${i}.png`, import.meta.url).href);
const $ = (id) => document.getElementById(id);

const ready = (async () => {
  const t0 = performance.now();
  const [model, tokenizer, processor] = await Promise.all([
    VisionEncoderDecoderModel.from_pretrained(MODEL),
    AutoTokenizer.from_pretrained(MODEL),
    AutoImageProcessor.from_pretrained(MODEL),
  ]);
  const threads = crossOriginIsolated ? 'WASM threads on' : 'one WASM thread (page not cross-origin isolated)';
  $('status').textContent = `Model loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s; ${threads}.`;
  return { model, tokenizer, processor };
})();
ready.catch((e) => ($('status').textContent = `Could not load the model: ${e.message}`));

async function read(image, label) {
  const { model, tokenizer, processor } = await ready;
  $('text').textContent = '…';
  $('preview').src = typeof image === 'string' ? image : URL.createObjectURL(image);
  try {
    const t0 = performance.now();
    const { pixel_values } = await processor.preprocess(image);
    const ids = await model.generate(pixel_values, $('beams').checked ? {} : { num_beams: 1 });
    const [text] = tokenizer.batch_decode(ids, { skip_special_tokens: true });
    const ms = performance.now() - t0;
    $('text').textContent = text;
    $('timing').textContent = `${label}: ${ms.toFixed(0)} ms (${$('beams').checked ? '4 beams' : 'greedy'}, ${ids.dims[1] - 1} tokens)`;
  } catch (e) {
    $('text').textContent = '';
    $('timing').textContent = `${label}: ${e.message}`;
  }
}

for (const [i, url] of EXAMPLES.entries()) {
  const b = document.createElement('button');
  b.textContent = `line-${i + 1}.png`;
  b.onclick = () => read(url, b.textContent);
  $('examples').append(b);
}
const drop = $('drop');
drop.onclick = () => $('file').click();
drop.onkeydown = (e) => (e.key === 'Enter' || e.key === ' ') && $('file').click();
$('file').onchange = () => $('file').files[0] && read($('file').files[0], $('file').files[0].name);
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add('over');
};
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) read(f, f.name);
};
