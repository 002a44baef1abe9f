/**
 * WhatsApp pairing QR as an SVG, drawn in the browser (no network). The encoder is the MIT
 * QRCode.js by Kazuhiko Arase, vendored by qrcode-terminal (already a dependency for the terminal QR).
 */
import QRCode from "qrcode-terminal/vendor/QRCode/index.js";

const LEVEL_M = 0;

export function qrSvg(text: string, size = 256): SVGSVGElement {
  const qr = new QRCode(-1, LEVEL_M);
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  let d = "";
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const total = n + quiet * 2;
  svg.setAttribute("viewBox", `0 0 ${total} ${total}`);
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "WhatsApp pairing QR code");
  const bg = document.createElementNS(ns, "rect");
  bg.setAttribute("width", "100%");
  bg.setAttribute("height", "100%");
  bg.setAttribute("fill", "#fff");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.append(bg, path);
  return svg;
}
