// Small MNIST images on the page: paint 784 grey levels onto a 28×28 canvas, and fetch
// validation images by index from the server (raw bytes, 784 per image) so that epoch
// events carry only indices. Fetched images are kept, since the test set never changes.

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const cache = new Map(); // "dataset:index" -> Uint8Array(784)

/** A 28×28 canvas of `pixels` (784 values, 0 = paper … 255 = ink), dark ink on white. */
export function drawPixels(pixels) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = SIDE;
  const context = canvas.getContext("2d");
  const image = context.createImageData(SIDE, SIDE);
  for (let i = 0; i < PIXELS; i++) {
    const paper = 255 - pixels[i];
    image.data.set([paper, paper, paper, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

/** The validation images at `indices` of `dataset`, in order, as Uint8Arrays of 784. */
export async function fetchImages(dataset, indices) {
  const missing = [...new Set(indices.filter((i) => !cache.has(`${dataset}:${i}`)))];
  if (missing.length) {
    const response = await fetch(`/datasets/${dataset}/test/images?indices=${missing.join(",")}`);
    if (!response.ok) throw new Error(await response.text());
    const bytes = new Uint8Array(await response.arrayBuffer());
    missing.forEach((index, k) => cache.set(`${dataset}:${index}`, bytes.slice(k * PIXELS, (k + 1) * PIXELS)));
  }
  return indices.map((i) => cache.get(`${dataset}:${i}`));
}

export function element(tag, className, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}
