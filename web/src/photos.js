// Photos shrunk on the phone before they go up (issue #20): long edge at most 2048 px, JPEG at about 0.8,
// turned upright from EXIF, at most 600 KB. The position the camera wrote in EXIF is read first (exifr,
// loaded only when a photo is chosen) and declared with the media item: the shrunk file carries no EXIF,
// and the server's photo-far-from-location check uses the declared position then.
export const MAX_EDGE = 2048;
export const MAX_BYTES = 600 * 1024;
const QUALITIES = [0.8, 0.7, 0.6, 0.5];

/** The EXIF GPS position of a photo as {lat, lon}, or null. */
export async function photoPosition(file) {
  try {
    const { gps } = await import("exifr/dist/mini.esm.mjs");
    const found = await gps(file);
    const lat = found && Number(found.latitude);
    const lon = found && Number(found.longitude);
    if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && (lat || lon)) {
      return { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 };
    }
  } catch {
    /* no EXIF, or not readable: no position declared */
  }
  return null;
}

async function encode(bitmap, width, height, quality) {
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    return canvas.convertToBlob({ type: "image/jpeg", quality });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

/** A file made ready to upload: `{blob, type, name, lat?, lon?}`. Photos the browser can decode are
 * shrunk to JPEG (at most `maxBytes`); videos, and photos it cannot decode (HEIC), go as they are. */
export async function preparePhoto(file, { maxBytes = MAX_BYTES } = {}) {
  const name = file.name || "photo.jpg";
  if (!file.type || !file.type.startsWith("image/")) return { blob: file, type: file.type || "application/octet-stream", name };
  const position = await photoPosition(file);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return { blob: file, type: file.type, name, ...position };
  }
  try {
    const long = Math.max(bitmap.width, bitmap.height);
    // A small JPEG already within the limits goes as it is (its own EXIF position included).
    if (file.type === "image/jpeg" && long <= MAX_EDGE && file.size <= maxBytes) return { blob: file, type: file.type, name, ...position };
    let scale = Math.min(1, MAX_EDGE / long);
    for (let round = 0; round < 4; round++, scale *= 0.75) {
      const width = Math.max(1, Math.round(bitmap.width * scale));
      const height = Math.max(1, Math.round(bitmap.height * scale));
      for (const quality of QUALITIES) {
        const blob = await encode(bitmap, width, height, quality);
        if (blob && blob.size <= maxBytes) {
          return { blob, type: "image/jpeg", name: name.replace(/\.[^.]*$/, "") + ".jpg", ...position };
        }
      }
    }
    return { blob: file, type: file.type, name, ...position }; // could not get it under the limit: the server decides
  } finally {
    bitmap.close && bitmap.close();
  }
}
