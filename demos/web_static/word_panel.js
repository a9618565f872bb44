// The handwriting panel: a held-out word's letter images through the word
// model, each letter's prediction and probability, and a per-letter
// occlusion strip: row t shows which pixels of the whole word decided letter t
// (a bidirectional LSTM may look both ways).

import { positions } from './occlusion.js';
import { drawDiverging, drawGrey } from './digit_panel.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const HEIGHT = 16, WIDTH = 8, CLASSES = LETTERS.length;
const SCALE = 3;   // screen pixels per letter pixel

/** Letter images from hex strings (16x8 bits, row-major, four pixels per hex digit). */
export function decodeLetters(hexLetters) {
  return hexLetters.map((hex) => {
    const pixels = new Float32Array(HEIGHT * WIDTH);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (parseInt(hex[i >> 2], 16) >> (3 - (i & 3))) & 1;
    return pixels;
  });
}

export class WordPanel {
  constructor(root, model, words, config) {
    this.model = model;
    this.words = words;
    this.maxLength = config.maxLength;
    this.occlusion = config.wordOcclusion;
    this.select = root.querySelector('[data-testid="word-select"]');
    this.prediction = root.querySelector('[data-testid="word-prediction"]');
    this.letters = root.querySelector('[data-testid="word-letters"]');
    this.strip = root.querySelector('[data-testid="word-image"]');
    this.saliency = root.querySelector('[data-testid="word-saliency"]');
    this.latency = root.querySelector('[data-testid="word-latency"]');
    this.last = null;
    this.queue = Promise.resolve();
    words.forEach((word, i) => this.select.add(new Option(`${i + 1}. ${word.text}`, String(i))));
    this.select.addEventListener('change', () => this.show(Number(this.select.value)));
  }

  show(index) {
    this.queue = this.queue.then(() => this.read(index)).catch((error) => {
      this.latency.textContent = `error: ${error.message}`;
      console.error(error);
    });
    return this.queue;
  }

  /** The model's input for a word: its letters, then all-zero (masked) letters up to the fixed length. */
  input(letters) {
    const values = new Float32Array(this.maxLength * HEIGHT * WIDTH);
    letters.forEach((pixels, t) => values.set(pixels, t * HEIGHT * WIDTH));
    return values;
  }

  async read(index) {
    this.select.dataset.state = 'busy';
    const word = this.words[index];
    const letters = decodeLetters(word.letters);
    const n = letters.length;
    const input = this.input(letters);
    const start = performance.now();
    const output = await this.model.run(input);
    const latencyMs = performance.now() - start;
    const predicted = [], probability = [];
    for (let t = 0; t < n; t++) {
      let best = 0;
      for (let c = 1; c < CLASSES; c++) if (output[t * CLASSES + c] > output[t * CLASSES + best]) best = c;
      predicted.push(best);
      probability.push(output[t * CLASSES + best]);
    }
    const text = predicted.map((c) => LETTERS[c]).join('');
    this.prediction.textContent = text;
    this.letters.replaceChildren(...predicted.map((c, t) => {
      const cell = document.createElement('span');
      cell.className = 'letter' + (word.text[t] === LETTERS[c] ? '' : ' wrong');
      cell.dataset.letter = LETTERS[c];
      cell.dataset.probability = String(probability[t]);
      cell.innerHTML = `<b>${LETTERS[c]}</b><small>${(100 * probability[t]).toFixed(0)}%</small>`;
      return cell;
    }));
    const stripValues = new Float32Array(HEIGHT * WIDTH * n);
    letters.forEach((pixels, t) => pixels.forEach((v, i) => {
      stripValues[Math.floor(i / WIDTH) * WIDTH * n + t * WIDTH + (i % WIDTH)] = v;
    }));
    this.strip.width = WIDTH * n * SCALE;
    this.strip.height = HEIGHT * SCALE;
    drawGrey(this.strip, stripValues, HEIGHT, WIDTH * n);

    const saliencyStart = performance.now();
    const { maps, runs } = await this.letterOcclusion(letters, output, predicted);
    const saliencyMs = performance.now() - saliencyStart;
    this.saliency.replaceChildren(...maps.map((map, t) => {
      const row = document.createElement('canvas');
      row.width = WIDTH * n * SCALE;
      row.height = HEIGHT * SCALE;
      row.title = `what decided letter ${t + 1} ('${LETTERS[predicted[t]]}')`;
      drawDiverging(row, map, HEIGHT, WIDTH * n);
      return row;
    }));
    this.latency.textContent = `${latencyMs.toFixed(1)} ms for the word; per-letter occlusion `
      + `${runs} runs in ${saliencyMs.toFixed(0)} ms (${(saliencyMs / runs).toFixed(2)} ms each)`;
    this.last = { index, text: word.text, predicted: text, probabilities: Array.from(output.slice(0, n * CLASSES)),
                  latencyMs, saliencyMsPerRun: saliencyMs / runs };
    this.select.dataset.state = 'done';
  }

  /**
   * For each letter t, the drop of p(predicted letter t) when a patch of any
   * letter is blanked, spread over the word strip (HEIGHT x WIDTH*n).
   */
  async letterOcclusion(letters, base, predicted) {
    const n = letters.length;
    const { patch, stride } = this.occlusion;
    const total = predicted.map(() => new Float64Array(HEIGHT * WIDTH * n));
    const count = new Float64Array(HEIGHT * WIDTH * n);
    let runs = 0;
    for (let s = 0; s < n; s++) {
      for (const [r, c] of positions(HEIGHT, WIDTH, patch, stride)) {
        const occluded = letters.map((pixels) => pixels);
        const hidden = Float32Array.from(letters[s]);
        for (let y = r; y < r + patch; y++) hidden.fill(0, y * WIDTH + c, y * WIDTH + c + patch);
        occluded[s] = hidden;
        const output = await this.model.run(this.input(occluded));
        runs += 1;
        for (let y = r; y < r + patch; y++) {
          for (let x = c; x < c + patch; x++) {
            const pixel = y * WIDTH * n + s * WIDTH + x;
            count[pixel] += 1;
            predicted.forEach((letter, t) => {
              total[t][pixel] += base[t * CLASSES + letter] - output[t * CLASSES + letter];
            });
          }
        }
      }
    }
    return { maps: total.map((map) => Float32Array.from(map, (v, i) => v / count[i])), runs };
  }
}
