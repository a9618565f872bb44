// A canvas to draw on with mouse, pen or touch (pointer events): black round
// strokes on white paper; `onStroke` is called when a stroke ends.

import { greyLevels } from './preprocess.js';

export class DrawingPad {
  /** `lineWidth` in canvas pixels; `onStroke()` runs after each finished stroke. */
  constructor(canvas, { lineWidth, onStroke }) {
    this.canvas = canvas;
    this.context = canvas.getContext('2d', { willReadFrequently: true });
    this.lineWidth = lineWidth;
    this.onStroke = onStroke;
    this.clear();
    this.listen();
  }

  listen() {
    let drawing = false;
    const point = (event) => {
      const box = this.canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * this.canvas.width / box.width,
              (event.clientY - box.top) * this.canvas.height / box.height];
    };
    this.canvas.addEventListener('pointerdown', (event) => {
      drawing = true;
      this.canvas.setPointerCapture(event.pointerId);
      const [x, y] = point(event);
      this.context.beginPath();
      this.context.moveTo(x, y);
      this.context.lineTo(x, y);
      this.context.stroke();
      event.preventDefault();
    });
    this.canvas.addEventListener('pointermove', (event) => {
      if (!drawing) return;
      const [x, y] = point(event);
      this.context.lineTo(x, y);
      this.context.stroke();
      event.preventDefault();
    });
    const finish = (event) => {
      if (!drawing) return;
      drawing = false;
      if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
      this.onStroke();
    };
    this.canvas.addEventListener('pointerup', finish);
    this.canvas.addEventListener('pointercancel', finish);
  }

  /** White paper, black round ink. */
  clear() {
    const c = this.context;
    c.fillStyle = '#ffffff';
    c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    c.strokeStyle = '#000000';
    c.lineWidth = this.lineWidth;
    c.lineCap = 'round';
    c.lineJoin = 'round';
  }

  /** The drawing's grey levels as Pillow's convert("L") gives them: {grey, width, height}. */
  grey() {
    const { width, height } = this.canvas;
    return { grey: greyLevels(this.context.getImageData(0, 0, width, height).data, width, height), width, height };
  }
}
