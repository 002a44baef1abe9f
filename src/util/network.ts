/**
 * Container network modes that put an agent inside a namespace it must not share: the host's
 * (`host`) or another container's (`container:<id>`, podman's `ns:<path>`). Allowed only with
 * the explicit `container.allowHostNetwork` flag.
 */

/** Why `network` is refused without allowHostNetwork, or null when it is an ordinary network. */
export function sharedNamespaceNetwork(network: string): string | null {
  const n = network.trim().toLowerCase();
  if (n === "host") return `"host" gives the agent the host's network (every local service)`;
  if (n.startsWith("container:")) return `"${network}" joins another container's network namespace`;
  if (n.startsWith("ns:")) return `"${network}" joins a network namespace of the host`;
  return null;
}
