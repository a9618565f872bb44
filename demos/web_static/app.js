// The page: loads LiteRT.js and the exported models from this site, wires the
// digit and handwriting panels, and exposes `window.kerasSeqDemo` for tests:
//   ready            resolves once every model is compiled and the first word is read;
//                    modelsMs / readyMs: those two moments, in ms since navigation
//   digit.input()    the page's own 28x28 input of the current drawing
//   digit.last       input, probabilities, prediction, occlusion map, precision, latency
//   word.last        the word read last: predicted letters and probabilities
//   write            the "write a word" panel: write.last (strip, probabilities, text,
//                    confidences, spans, saliency, timings; or {refused, message}),
//                    write.read() (one read of the drawing), write.canvasPNG()
//   canvasPNG()      the drawing as a PNG data URL (what `keras-seq infer` would read)
//   runModel(url, values)  any .tflite file of this site on one float32 input
//   accelerator      the CPU/GPU switch: choose('wasm' | 'webgpu') (a Promise), current, webgpu
//                    ({available, reason}), latency ({panel: {accelerator: ms}}), sets[acc].onCpu

import { EdgeModel } from './runtime.js';
import { DigitPanel } from './digit_panel.js';
import { WordPanel } from './word_panel.js';
import { WordReaderPanel } from './word_reader_panel.js';
import { AcceleratorSwitch } from './accelerator_switch.js';

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

async function start() {
  const status = document.querySelector('[data-testid="status"]');
  const config = await fetchJson('./config.json');
  const [float32, int8, wordModel, readerModel, words] = await Promise.all([
    EdgeModel.load(config.models.digits_float32),
    EdgeModel.load(config.models.digits_int8),
    EdgeModel.load(config.models.handwriting),
    EdgeModel.load(config.models.word_reader),
    fetchJson(config.words),
  ]);
  const modelsMs = performance.now();   // since navigation: LiteRT.js and every model compiled
  const digit = new DigitPanel(document.querySelector('#digit-panel'), { float32, int8 }, config);
  const word = new WordPanel(document.querySelector('#word-panel'), wordModel, words, config);
  const write = new WordReaderPanel(document.querySelector('#write-panel'), readerModel, config);
  const accelerator = await new AcceleratorSwitch(
    document.querySelector('header'), config.models,
    { digits_float32: float32, digits_int8: int8, handwriting: wordModel, word_reader: readerModel },
    { webgpu: config.gpuModels },
    async (set) => {
      digit.models = { float32: set.digits_float32, int8: set.digits_int8 };
      word.model = set.handwriting;
      write.model = set.word_reader;
      await digit.update();
      await word.show(word.last ? word.last.index : 0);
      if (write.last && !write.last.refused) await write.update();
    }).init();
  digit.onResult = (last) => accelerator.record('digit', last.accelerator, last.latencyMs);
  word.onResult = (last) => accelerator.record('word', last.accelerator, last.latencyMs);
  write.onResult = (last) => accelerator.record('write', last.accelerator, last.runMs);
  await word.show(0);
  const sinceNavigation = performance.now();
  status.textContent = `LiteRT.js and the models ready ${modelsMs.toFixed(0)} ms after navigation, `
    + `first word read and explained at ${sinceNavigation.toFixed(0)} ms; everything runs on this device`;
  status.dataset.state = 'ready';
  const models = new Map();
  return {
    modelsMs,
    readyMs: sinceNavigation,
    config,
    digit,
    word,
    write,
    accelerator,
    canvasPNG: () => digit.canvas.toDataURL('image/png'),
    async runModel(url, values) {
      if (!models.has(url)) models.set(url, await EdgeModel.load(url));
      return Array.from(await models.get(url).run(Float32Array.from(values)));
    },
  };
}

window.kerasSeqDemo = { ready: start().then((api) => Object.assign(window.kerasSeqDemo, api)) };
window.kerasSeqDemo.ready.catch((error) => {
  const status = document.querySelector('[data-testid="status"]');
  status.textContent = `could not start: ${error.message}`;
  status.dataset.state = 'error';
  console.error(error);
});
