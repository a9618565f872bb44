// The digit panel: draw with mouse, pen or touch; the MNIST-style 28x28
// input; the phone model's prediction, ten probability bars, latency; and
// the occlusion map of the same file on the same input.

import { DrawingPad } from './drawing_pad.js';
import { mnistStyle, MNIST_SIZE } from './preprocess.js';
import { occlusionMap } from './occlusion.js';
import { drawDiverging, drawGrey } from './canvas_draw.js';

const INK_WIDTH = 0.07;   // stroke width as a share of the canvas side

export class DigitPanel {
  constructor(root, models, config) {
    this.models = models;              // {float32: EdgeModel, int8: EdgeModel}
    this.config = config;
    this.precision = 'float32';
    this.canvas = root.querySelector('[data-testid="digit-canvas"]');
    this.pad = new DrawingPad(this.canvas, { lineWidth: INK_WIDTH * this.canvas.width, onStroke: () => this.update() });
    this.inputView = root.querySelector('[data-testid="digit-input"]');
    this.occlusionView = root.querySelector('[data-testid="digit-occlusion"]');
    this.prediction = root.querySelector('[data-testid="digit-prediction"]');
    this.latency = root.querySelector('[data-testid="digit-latency"]');
    this.bars = root.querySelector('[data-testid="digit-probabilities"]');
    this.last = null;
    this.onResult = null;               // called with `last` after each prediction
    this.queue = Promise.resolve();
    this.buildBars();
    this.clear();
    this.listen(root);
  }

  buildBars() {
    this.bars.replaceChildren();
    this.barFills = [];
    for (let digit = 0; digit < 10; digit++) {
      const row = document.createElement('div');
      row.className = 'bar';
      row.dataset.digit = String(digit);
      row.innerHTML = `<span class="bar-label">${digit}</span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>`;
      this.bars.append(row);
      this.barFills.push(row);
    }
  }

  listen(root) {
    root.querySelector('[data-testid="digit-clear"]').addEventListener('click', () => this.clear());
    root.querySelector('[data-testid="digit-precision"]').addEventListener('change', (event) => {
      this.precision = event.target.value;
      this.update();
    });
  }

  clear() {
    this.pad.clear();
    this.last = null;
    this.prediction.textContent = '';
    this.latency.textContent = 'draw a digit';
    for (const row of this.barFills) this.showBar(row, null);
    this.inputView.getContext('2d').clearRect(0, 0, this.inputView.width, this.inputView.height);
    this.occlusionView.getContext('2d').clearRect(0, 0, this.occlusionView.width, this.occlusionView.height);
    this.canvas.dataset.state = 'blank';
  }

  showBar(row, probability) {
    row.dataset.probability = probability === null ? '' : String(probability);
    row.querySelector('.bar-fill').style.width = probability === null ? '0%' : `${(100 * probability).toFixed(1)}%`;
    row.querySelector('.bar-value').textContent = probability === null ? '' : `${(100 * probability).toFixed(1)}%`;
  }

  /** The 28x28 input of the drawing as `keras-seq infer` makes it from a PNG, or null when blank. */
  input() {
    const { grey, width, height } = this.pad.grey();
    return mnistStyle(grey, width, height, this.config.pillowVerticalFirst);
  }

  /** Predict (and explain) the current drawing; calls run one after the other. */
  update() {
    this.queue = this.queue.then(() => this.predict()).catch((error) => {
      this.latency.textContent = `error: ${error.message}`;
      console.error(error);
    });
    return this.queue;
  }

  async predict() {
    this.canvas.dataset.state = 'busy';
    const image = this.input();
    if (image === null) {
      this.clear();
      return;
    }
    const model = this.models[this.precision];
    const start = performance.now();
    const probabilities = await model.run(image);
    const latencyMs = performance.now() - start;
    let best = 0;
    for (let d = 1; d < 10; d++) if (probabilities[d] > probabilities[best]) best = d;
    this.prediction.textContent = String(best);
    probabilities.forEach((p, d) => this.showBar(this.barFills[d], p));
    drawGrey(this.inputView, image, MNIST_SIZE, MNIST_SIZE);
    const occlusionStart = performance.now();
    let runs = 0;
    const predict = (values) => { runs += 1; return model.run(values); };
    const occlusion = await occlusionMap(predict, image, MNIST_SIZE, MNIST_SIZE, best, this.config.occlusion);
    const occlusionMs = performance.now() - occlusionStart;
    drawDiverging(this.occlusionView, occlusion, MNIST_SIZE, MNIST_SIZE);
    this.latency.textContent = `${this.precision} on ${model.ranOn}: ${latencyMs.toFixed(1)} ms for this digit; `
      + `occlusion ${runs} runs in ${occlusionMs.toFixed(0)} ms (${(occlusionMs / runs).toFixed(2)} ms each)`;
    this.last = { input: Array.from(image), probabilities: Array.from(probabilities), prediction: best,
                  occlusion: Array.from(occlusion), precision: this.precision, latencyMs,
                  occlusionMsPerRun: occlusionMs / runs, accelerator: model.ranOn };
    if (this.onResult) this.onResult(this.last);
    this.canvas.dataset.state = 'done';
  }
}
