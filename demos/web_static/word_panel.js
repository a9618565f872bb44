// The handwriting panel: a held-out word's letter images through the word
// model, each letter's prediction and probability, and a per-letter
// occlusion strip: row t shows which pixels of the whole word decided letter t
// (a bidirectional LSTM may look both ways).

import { occlude, positions, square } from './occlusion.js';
import { drawDiverging, drawGrey } from './canvas_draw.js';

const SCALE = 3;   // screen pixels per letter pixel

/** Letter images (height x width, from config.json's `letters`) from hex strings (row-major bits, four per digit). */
export function decodeLetters(hexLetters, { height, width }) {
  return hexLetters.map((hex) => {
    const pixels = new Float32Array(height * width);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (parseInt(hex[i >> 2], 16) >> (3 - (i & 3))) & 1;
    return pixels;
  });
}

export class WordPanel {
  constructor(root, model, words, config) {
    this.model = model;
    this.words = words;
    this.shape = config.letters;          // {alphabet, height, width} of the letter images and classes
    this.maxLength = config.maxLength;
    this.occlusion = config.wordOcclusion;
    this.select = root.querySelector('[data-testid="word-select"]');
    this.prediction = root.querySelector('[data-testid="word-prediction"]');
    this.letters = root.querySelector('[data-testid="word-letters"]');
    this.strip = root.querySelector('[data-testid="word-image"]');
    this.saliency = root.querySelector('[data-testid="word-saliency"]');
    this.latency = root.querySelector('[data-testid="word-latency"]');
    this.last = null;
    this.onResult = null;               // called with `last` after each word
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
    const size = this.shape.height * this.shape.width;
    const values = new Float32Array(this.maxLength * size);
    letters.forEach((pixels, t) => values.set(pixels, t * size));
    return values;
  }

  async read(index) {
    this.select.dataset.state = 'busy';
    const word = this.words[index];
    const { alphabet, height, width } = this.shape;
    const classes = alphabet.length;
    const letters = decodeLetters(word.letters, this.shape);
    const n = letters.length;
    const input = this.input(letters);
    const start = performance.now();
    const output = await this.model.run(input);
    const latencyMs = performance.now() - start;
    const predicted = [], probability = [];
    for (let t = 0; t < n; t++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (output[t * classes + c] > output[t * classes + best]) best = c;
      predicted.push(best);
      probability.push(output[t * classes + best]);
    }
    const text = predicted.map((c) => alphabet[c]).join('');
    this.prediction.textContent = text;
    this.letters.replaceChildren(...predicted.map((c, t) => {
      const cell = document.createElement('span');
      cell.className = 'letter' + (word.text[t] === alphabet[c] ? '' : ' wrong');
      cell.dataset.letter = alphabet[c];
      cell.dataset.probability = String(probability[t]);
      cell.innerHTML = `<b>${alphabet[c]}</b><small>${(100 * probability[t]).toFixed(0)}%</small>`;
      return cell;
    }));
    const stripValues = new Float32Array(height * width * n);
    letters.forEach((pixels, t) => pixels.forEach((v, i) => {
      stripValues[Math.floor(i / width) * width * n + t * width + (i % width)] = v;
    }));
    this.strip.width = width * n * SCALE;
    this.strip.height = height * SCALE;
    drawGrey(this.strip, stripValues, height, width * n);

    const saliencyStart = performance.now();
    const { maps, runs } = await this.letterOcclusion(letters, output, predicted);
    const saliencyMs = performance.now() - saliencyStart;
    this.saliency.replaceChildren(...maps.map((map, t) => {
      const row = document.createElement('canvas');
      row.width = width * n * SCALE;
      row.height = height * SCALE;
      row.title = `what decided letter ${t + 1} ('${alphabet[predicted[t]]}')`;
      drawDiverging(row, map, height, width * n);
      return row;
    }));
    this.latency.textContent = `${this.model.ranOn}: ${latencyMs.toFixed(1)} ms for the word; per-letter occlusion `
      + `${runs} runs in ${saliencyMs.toFixed(0)} ms (${(saliencyMs / runs).toFixed(2)} ms each)`;
    this.last = { index, text: word.text, predicted: text, probabilities: Array.from(output.slice(0, n * classes)),
                  latencyMs, saliencyMsPerRun: saliencyMs / runs, accelerator: this.model.ranOn };
    if (this.onResult) this.onResult(this.last);
    this.select.dataset.state = 'done';
  }

  /**
   * For each letter t, the drop of p(predicted letter t) when a patch of any
   * letter is blanked, spread over the word strip (height x width*n).
   */
  async letterOcclusion(letters, base, predicted) {
    const { alphabet, height, width } = this.shape;
    const n = letters.length;
    const patches = [];
    for (let s = 0; s < n; s++) {
      for (const [r, c] of positions(height, width, this.occlusion.patch, this.occlusion.stride)) {
        // the patch in letter s of the model's input, and where it lies on the strip of all n letters
        const hide = square(r, c, this.occlusion.patch, width, s * height * width);
        const cover = hide.map((i) => {
          const pixel = i - s * height * width;
          return Math.floor(pixel / width) * width * n + s * width + (pixel % width);
        });
        patches.push({ hide, cover });
      }
    }
    const scores = (output) => predicted.map((letter, t) => output[t * alphabet.length + letter]);
    const { maps, runs } = await occlude((values) => this.model.run(values), this.input(letters), patches, scores,
                                         height * width * n, { base: scores(base) });
    return { maps: maps.map((map) => Float32Array.from(map)), runs };
  }
}
