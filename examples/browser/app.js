// The demo page: load the bundled model once, then read each chosen image (a line or a page:
// OCRReader finds the lines) and show its lines and the time it took, all in this page.
import { OCRReader } from 'vision-encoder-decoder';

const MODEL = new URL('../../models/ved-ocr-small/', import.meta.url).href;
const EXAMPLES = ['line-1.png', 'line-2.png', 'line-3.png', 'page-1.png', 'page-2.png'].map((f) => [f, new URL(`../${f}`, import.meta.url).href]);
const $ = (id) => document.getElementById(id);

const ready = (async () => {
  const t0 = performance.now();
  const reader = await OCRReader.from_pretrained(MODEL);
  const threads = crossOriginIsolated ? 'WASM threads on' : 'one WASM thread (page not cross-origin isolated)';
  $('status').textContent = `Model loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s; ${threads}.`;
  return reader;
})();
ready.catch((e) => ($('status').textContent = `Could not load the model: ${e.message}`));

async function read(image, label) {
  const reader = await ready;
  $('text').textContent = '…';
  $('preview').src = typeof image === 'string' ? image : URL.createObjectURL(image);
  try {
    const t0 = performance.now();
    const [result] = await reader.read(image, $('beams').checked ? {} : { num_beams: 1 });
    const ms = performance.now() - t0;
    $('text').textContent = result.text;
    const n = result.lines.length;
    $('timing').textContent = `${label}: ${ms.toFixed(0)} ms for ${n} line${n === 1 ? '' : 's'} (${$('beams').checked ? '4 beams' : 'greedy'})`;
  } catch (e) {
    $('text').textContent = '';
    $('timing').textContent = `${label}: ${e.message}`;
  }
}

for (const [name, url] of EXAMPLES) {
  const b = document.createElement('button');
  b.textContent = name;
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
