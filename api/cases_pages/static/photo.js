// Shrinking a phone photo before it goes over a slow connection: a 4 MB camera JPEG becomes a few
// hundred KB at 1920 px. Only when the report already has its point: the shrunk copy has no EXIF,
// and the server reads the position from EXIF GPS when the report has none.
export const SHRINK_ABOVE_BYTES = 1_500_000;
const MAX_SIDE = 1920;

/** ``file`` as a smaller JPEG when it is large and decodable; otherwise ``file`` itself. */
export async function shrink(file) {
  if (!file || file.size <= SHRINK_ABOVE_BYTES || typeof createImageBitmap !== "function") return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file;  // HEIC and other formats the browser cannot decode go as they are
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  if (!blob || blob.size >= file.size) return file;
  return new File([blob], (file.name || "photo").replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" });
}
