export type { Fault, Fleet, FleetHost } from './fleet.ts';
export {
  DEFAULT_HOSTS,
  type Office,
  type OfficeHost,
  type OfficeHostSpec,
  type OfficeOptions,
  startOffice,
} from './office.ts';
export { officeUnavailable } from './preflight.ts';
