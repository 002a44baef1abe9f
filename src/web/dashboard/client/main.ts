/** The dashboard shell: hash router, navigation and the live-connection indicator. */
import { startLive } from "./api.ts";
import { chat } from "./chat.ts";
import { clear, h } from "./dom.ts";
import { groups } from "./groups.ts";
import { overview } from "./overview.ts";
import { plugins } from "./plugins.ts";
import { search } from "./search.ts";
import { tasks } from "./tasks.ts";
import type { View } from "./types.ts";

const VIEWS: Record<string, [string, View]> = {
  overview: ["Overview", overview],
  groups: ["Groups", groups],
  tasks: ["Tasks", tasks],
  plugins: ["Plugins", plugins],
  search: ["Search", search],
  chat: ["Chat", chat],
};

const main = h("main", { id: "view" });
const dot = h("span", { class: "dot", title: "live updates" });
const links = Object.entries(VIEWS).map(([id, [label]]) =>
  h("a", { href: `#/${id}`, "data-view": id }, label),
);
document.body.replaceChildren(
  h(
    "header",
    null,
    h("a", { class: "brand", href: "#/overview" }, "NanoGridBot"),
    h("nav", null, links),
    dot,
    h(
      "form",
      { method: "post", action: "/logout", class: "logout" },
      h("button", { class: "small ghost" }, "log out"),
    ),
  ),
  main,
);

let unmount: (() => void) | undefined;
function route() {
  const [, id = "overview", arg] = location.hash.match(/^#\/([a-z]+)(?:\/(.*))?$/) ?? [];
  const view = VIEWS[id] ?? VIEWS.overview!;
  unmount?.();
  unmount = undefined;
  for (const a of links) a.classList.toggle("active", a.dataset.view === id);
  clear(main);
  try {
    unmount = view[1](main, arg ? decodeURIComponent(arg) : undefined) ?? undefined;
  } catch (e) {
    clear(main, h("p", { class: "error" }, (e as Error).message));
  }
}
window.addEventListener("hashchange", route);
startLive((up) => {
  dot.className = `dot ${up ? "connected" : "error"}`;
  dot.title = up ? "live" : "live updates disconnected, retrying";
});
route();
