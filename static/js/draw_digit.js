// Draw a digit: a 280×280 canvas for the mouse, a pen or a finger, turned into a 28×28
// image the way MNIST made its own — crop to the ink, fit into 20×20 keeping the aspect
// ratio, then place it in 28×28 so that its centre of mass sits at the centre.

const SIDE = 28;
const BOX = 20;
const INK_THRESHOLD = 0.02; // fainter pixels (antialiasing fuzz) don't stretch the crop

/** The canvas's ink as 784 floats in 0..1, preprocessed like MNIST; null when blank. */
export function mnistPixels(canvas) {
  const { width, height } = canvas;
  const rgba = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const ink = new Float32Array(width * height);
  let [left, top, right, bottom] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = rgba[4 * (y * width + x) + 3] / 255; // strokes are opaque on transparent
      ink[y * width + x] = value;
      if (value > INK_THRESHOLD) {
        [left, top, right, bottom] = [Math.min(left, x), Math.min(top, y), Math.max(right, x), Math.max(bottom, y)];
      }
    }
  }
  if (right < 0) return null;
  const [cropWidth, cropHeight] = [right - left + 1, bottom - top + 1];
  const scale = BOX / Math.max(cropWidth, cropHeight);
  const [boxWidth, boxHeight] = [Math.max(1, Math.round(cropWidth * scale)), Math.max(1, Math.round(cropHeight * scale))];
  const small = areaAverage(ink, width, left, top, cropWidth, cropHeight, boxWidth, boxHeight);
  return centreByMass(small, boxWidth, boxHeight);
}

/** Shrink the crop to boxWidth × boxHeight, each small pixel the mean of the source
 *  pixels that fall in it (a box filter: thin strokes fade instead of vanishing). */
function areaAverage(ink, width, left, top, cropWidth, cropHeight, boxWidth, boxHeight) {
  const sum = new Float32Array(boxWidth * boxHeight);
  const count = new Float32Array(boxWidth * boxHeight);
  for (let y = 0; y < cropHeight; y++) {
    const row = Math.min(boxHeight - 1, Math.floor((y * boxHeight) / cropHeight));
    for (let x = 0; x < cropWidth; x++) {
      const column = Math.min(boxWidth - 1, Math.floor((x * boxWidth) / cropWidth));
      sum[row * boxWidth + column] += ink[(top + y) * width + left + x];
      count[row * boxWidth + column] += 1;
    }
  }
  return sum.map((total, i) => total / count[i]);
}

/** Place the small image in 28×28 with its centre of mass at the centre (14, 14). */
function centreByMass(small, boxWidth, boxHeight) {
  let [mass, massX, massY] = [0, 0, 0];
  for (let y = 0; y < boxHeight; y++) {
    for (let x = 0; x < boxWidth; x++) {
      const value = small[y * boxWidth + x];
      [mass, massX, massY] = [mass + value, massX + value * (x + 0.5), massY + value * (y + 0.5)];
    }
  }
  const shiftX = Math.round(SIDE / 2 - massX / mass);
  const shiftY = Math.round(SIDE / 2 - massY / mass);
  const pixels = new Array(SIDE * SIDE).fill(0);
  for (let y = 0; y < boxHeight; y++) {
    for (let x = 0; x < boxWidth; x++) {
      const [tx, ty] = [x + shiftX, y + shiftY];
      if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE) {
        pixels[ty * SIDE + tx] = Math.min(1, Math.round(small[y * boxWidth + x] * 1000) / 1000);
      }
    }
  }
  return pixels;
}

/** Let the user draw on `canvas`; `onChange()` runs (at most every `throttleMs`) while
 *  drawing and once at the end of each stroke; `clear` empties the canvas. */
export function drawingPad(canvas, onChange, throttleMs = 120) {
  const context = canvas.getContext("2d");
  let drawing = false;
  let last = null;
  let timer = null;

  const point = (event) => {
    const rect = canvas.getBoundingClientRect(); // the canvas may be shown smaller than 280
    return [((event.clientX - rect.left) * canvas.width) / rect.width,
      ((event.clientY - rect.top) * canvas.height) / rect.height];
  };
  const changed = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, throttleMs);
  };
  const stroke = (to) => {
    context.lineWidth = canvas.width / 14; // about two MNIST pixels once shrunk
    context.lineCap = context.lineJoin = "round";
    context.strokeStyle = "#000";
    context.beginPath();
    context.moveTo(...(last ?? to));
    context.lineTo(...to);
    context.stroke();
    last = to;
    changed();
  };

  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    last = null;
    canvas.setPointerCapture(event.pointerId);
    stroke(point(event));
  });
  canvas.addEventListener("pointermove", (event) => drawing && stroke(point(event)));
  const end = () => {
    if (!drawing) return;
    drawing = false;
    clearTimeout(timer);
    timer = null;
    onChange();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  return {
    clear() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      onChange();
    },
  };
}
