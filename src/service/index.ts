/** Running ngb as a systemd unit or launchd agent (see units.ts, manager.ts). */
export {
  type InstallResult,
  installService,
  isServiceInstalled,
  readDefinition,
  restartService,
  type RunResult,
  type ServiceDeps,
  ServiceError,
  type ServiceOptions,
  type ServiceStatus,
  serviceLogs,
  serviceStatus,
  uninstallService,
} from "./manager.ts";
export {
  LAUNCHD_LABEL,
  launchdPlist,
  parseExecStart,
  SERVICE_NAME,
  type ServiceSpec,
  systemdUnit,
} from "./units.ts";
export { hostServiceDeps, runCommand, selfCommand } from "./host.ts";
