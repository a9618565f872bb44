// The "write a word" panel: draw a word (mouse, pen or touch) on a wide
// canvas; after each stroke (or Read) the drawing becomes the word reader's
// strip as `keras-seq infer` makes it from a PNG (strip_preprocess.js), the
// CTC word reader's file runs on it (fixed width, column mask), greedy CTC
// decoding gives the text and per-letter confidences (ctc_decode.js), and
// one saliency row per letter shows which columns made it (occlusion.js's
// columnOcclusion, as `keras-seq demo words` draws it).

import { DrawingPad } from './drawing_pad.js';
import { modelInput, StripError, wordStrip } from './strip_preprocess.js';
import { greedyDecode } from './ctc_decode.js';
import { columnOcclusion } from './occlusion.js';
import { drawDiverging, drawGrey } from './canvas_draw.js';

const INK_WIDTH = 0.025;  // stroke width as a share of the canvas height: a pen, not a marker
const SCALE = 3;          // screen pixels per strip column
const ROW_HEIGHT = 12;    // screen pixels per saliency row

/** One line on the reader the page runs (config.json's wordReader.about); a smoke run's reader says so. */
export function describeReader(about) {
  if (!about) return 'Reader: unknown (the site was built without a description of its word reader).';
  const parts = [`${about.file || 'a word reader'}, ${(about.parameters / 1e6).toFixed(2)} M parameters`];
  if (about.epochs) parts.push(`${about.epochs} epoch${about.epochs === 1 ? '' : 's'}`);
  if (about.test_fold !== null && about.test_fold !== undefined) parts.push(`fold ${about.test_fold} held out`);
  const line = `Reader: ${parts.join(', ')}.`;
  if (!about.smoke) return line;
  return `${line} This is a --fast smoke-run reader: its answers are a smoke run's, not what the trained `
    + 'reader reads (train it with `keras-seq demo words` or `keras-seq train words`).';
}

export class WordReaderPanel {
  constructor(root, model, config) {
    this.model = model;
    this.reader = config.wordReader;
    this.canvas = root.querySelector('[data-testid="write-canvas"]');
    this.pad = new DrawingPad(this.canvas, { lineWidth: INK_WIDTH * this.canvas.height, onStroke: () => this.update() });
    this.prediction = root.querySelector('[data-testid="write-prediction"]');
    this.letters = root.querySelector('[data-testid="write-letters"]');
    this.message = root.querySelector('[data-testid="write-message"]');
    this.strip = root.querySelector('[data-testid="write-strip"]');
    this.saliency = root.querySelector('[data-testid="write-saliency"]');
    this.latency = root.querySelector('[data-testid="write-latency"]');
    this.about = root.querySelector('[data-testid="write-reader"]');
    this.about.textContent = describeReader(this.reader.about);
    this.about.dataset.smoke = String(Boolean(this.reader.about && this.reader.about.smoke));
    this.last = null;
    this.onResult = null;               // called with `last` after each reading
    this.queue = Promise.resolve();
    this.waiting = false;               // a read is queued and has not yet taken the drawing
    root.querySelector('[data-testid="write-clear"]').addEventListener('click', () => this.clear());
    root.querySelector('[data-testid="write-read"]').addEventListener('click', () => this.update());
    this.clear();
  }

  /** The drawing as a PNG data URL (what `keras-seq infer` would read). */
  canvasPNG() {
    return this.canvas.toDataURL('image/png');
  }

  clear() {
    this.pad.clear();
    this.showReading(null);
    this.message.textContent = 'write a word (lower-case letters), then lift the pen';
    this.message.dataset.kind = 'hint';
    this.latency.textContent = '';
    this.last = null;
    this.canvas.dataset.state = 'blank';
  }

  /**
   * Read (and explain) the drawing; calls run one after the other. Strokes made while a read waits its
   * turn join that read (it takes the drawing when it starts), so fast writing never queues stale reads.
   */
  update() {
    if (this.waiting) return this.queue;
    this.waiting = true;
    this.queue = this.queue.then(() => {
      this.waiting = false;
      return this.readAndExplain();
    }).catch((error) => {
      this.message.textContent = `error: ${error.message}`;
      this.message.dataset.kind = 'error';
      this.canvas.dataset.state = 'error';
      console.error(error);
    });
    return this.queue;
  }

  /**
   * One read of the drawing: preprocess, run the file, decode. Resolves to
   * {strip (wordStrip's), probabilities, steps, reading (greedyDecode's), preprocessMs, runMs, decodeMs};
   * rejects with a StripError for a drawing the reader cannot take.
   */
  async read() {
    const start = performance.now();
    const { grey, width, height } = this.pad.grey();
    const strip = wordStrip(grey, width, height, this.reader);
    const input = modelInput(strip.values, strip.columns, this.reader);
    const preprocessed = performance.now();
    const output = await this.model.run(input);
    const ran = performance.now();
    const steps = strip.columns / this.reader.columnsPerStep;
    const probabilities = output.subarray(0, steps * this.reader.alphabet.length);
    const reading = greedyDecode(probabilities, steps, this.reader.alphabet, this.reader.blank);
    const decoded = performance.now();
    return { strip, probabilities, steps, reading, preprocessMs: preprocessed - start, runMs: ran - preprocessed,
             decodeMs: decoded - ran };
  }

  async readAndExplain() {
    this.canvas.dataset.state = 'busy';
    let result;
    try {
      result = await this.read();
    } catch (error) {
      if (!(error instanceof StripError)) throw error;
      this.showReading(null);
      this.message.textContent = error.message;
      this.message.dataset.kind = 'refused';
      this.latency.textContent = '';
      this.last = { refused: error.reason, message: error.message };
      this.canvas.dataset.state = 'refused';
      return;
    }
    const { strip, probabilities, reading } = result;
    const symbols = this.reader.alphabet.length;
    const saliencyStart = performance.now();
    const predict = async (values) => {
      const output = await this.model.run(modelInput(values, strip.columns, this.reader));
      return output.subarray(0, probabilities.length);
    };
    const { maps, runs } = await columnOcclusion(predict, strip.values, this.reader.height, strip.columns, reading,
                                                 symbols, this.reader.occlusion);
    const saliencyMs = performance.now() - saliencyStart;
    this.showReading(reading, strip, maps);
    this.message.textContent = reading.text ? '' : 'no letters read: every step is most likely a blank';
    this.message.dataset.kind = reading.text ? '' : 'hint';
    const readMs = result.preprocessMs + result.runMs + result.decodeMs;
    this.latency.textContent = `read on ${this.model.ranOn} in ${readMs.toFixed(1)} ms (preprocess ${result.preprocessMs.toFixed(1)}, `
      + `run ${result.runMs.toFixed(1)}, decode ${result.decodeMs.toFixed(2)}); column occlusion `
      + `${runs} runs in ${saliencyMs.toFixed(0)} ms`;
    this.last = { strip: Array.from(strip.values), columns: strip.columns, steps: result.steps,
                  probabilities: Array.from(probabilities), text: reading.text, confidences: reading.confidences,
                  spans: reading.spans, probability: reading.probability, saliency: maps.map((m) => Array.from(m)),
                  readMs, runMs: result.runMs, saliencyRuns: runs, saliencyMs, accelerator: this.model.ranOn };
    if (this.onResult) this.onResult(this.last);
    this.canvas.dataset.state = 'done';
  }

  /** Show a reading (text, letters with confidences, strip, saliency rows), or clear them (null). */
  showReading(reading, strip, maps) {
    this.prediction.textContent = reading ? reading.text : '';
    this.letters.replaceChildren();
    this.saliency.replaceChildren();
    this.strip.hidden = reading === null;
    if (reading === null) return;
    const { height } = this.reader;
    this.strip.width = strip.columns * SCALE;
    this.strip.height = height * SCALE;
    drawGrey(this.strip, strip.values, height, strip.columns);
    reading.labels.forEach((label, i) => {
      const letter = this.reader.alphabet[label];
      const cell = document.createElement('span');
      cell.className = 'letter';
      cell.dataset.letter = letter;
      cell.dataset.confidence = String(reading.confidences[i]);
      cell.innerHTML = `<b>${letter}</b><small>${(100 * reading.confidences[i]).toFixed(0)}%</small>`;
      this.letters.append(cell);
      const row = document.createElement('div');
      row.className = 'saliency-row';
      const name = document.createElement('span');
      name.textContent = letter;
      const heat = document.createElement('canvas');
      heat.width = strip.columns * SCALE;
      heat.height = ROW_HEIGHT;
      heat.title = `columns that made letter ${i + 1} ('${letter}')`;
      drawDiverging(heat, maps[i], 1, strip.columns);
      row.append(name, heat);
      this.saliency.append(row);
    });
  }
}
