/** In-place upgrades and rollback of the installed binary (see upgrade.ts). */
export {
  findRelease,
  previousPath,
  type ReleaseInfo,
  rollback,
  upgrade,
  type UpgradeDeps,
  UpgradeError,
  type UpgradeResult,
} from "./upgrade.ts";
