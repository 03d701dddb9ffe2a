/**
 * Which Linear sites of a model are analog by default: every attention and FFN projection.
 * The task head and the masked-LM head stay digital. Deployments program these sites onto
 * tiles, hardware-aware training injects noise into them, and `aimc model map` tiles them.
 */
import type { LinearSite, SiteRole } from './linear.js';
import type { Transformer } from './transformer.js';

/** Roles a deployment puts on tiles by default (ARCHITECTURE.md: attention and FFN). */
export const DEFAULT_ANALOG_ROLES: SiteRole[] = ['attn.q', 'attn.k', 'attn.v', 'attn.o', 'ffn.in', 'ffn.out'];

/** The sites a deployment puts on tiles by default: every attention and FFN projection. */
export function defaultAnalogSites(model: Transformer): LinearSite[] {
  return model.sites.filter((s) => DEFAULT_ANALOG_ROLES.includes(s.role));
}
