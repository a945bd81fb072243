// Bond settings: which options make sense in which mode, and the miimon timing rules. Unknown
// option names are the schema check's to report (schema-v1alpha1-network.ts).
import { show, type DocumentScope } from './problem.js';
import { isNonEmpty, numAt, strAt } from './values.js';
import type { PlainMap } from './yamltree.js';

/** Linux bonding mode names. */
const BOND_MODES = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];

/** option -> the modes it is allowed in */
const MODE_ONLY_OPTIONS: Record<string, string[]> = {
  lacpRate: ['802.3ad'],
  adActorSysPrio: ['802.3ad'],
  adUserPortKey: ['802.3ad'],
  primary: ['active-backup', 'balance-alb', 'balance-tlb'],
  packetsPerSlave: ['balance-rr'],
  tlbDynamicLb: ['balance-alb', 'balance-tlb'],
};

/** ARP monitoring cannot be used in these modes */
const ARP_OPTIONS = ['arpInterval', 'arpValidate', 'arpAllTargets', 'arpIPTarget'];
const NO_ARP_MODES = ['802.3ad', 'balance-alb', 'balance-tlb'];

/** options Talos does not support setting */
const UNSUPPORTED_OPTIONS = ['arpIPTarget', 'adActorSystem'];

// The schema spells the delays updelay/downdelay; the camel-case spellings (unknown keys, which
// the schema check reports) are read too, so that the miimon rule applies whichever a config uses.
const DELAY_OPTIONS = [
  ['upDelay', 'updelay'],
  ['downDelay', 'downdelay'],
];

export function checkBond(scope: DocumentScope, path: string, bond: PlainMap): void {
  if (isNonEmpty(bond, 'interfaces') && isNonEmpty(bond, 'deviceSelectors')) {
    scope.error(`${path}.deviceSelectors`, 'bond interfaces and deviceSelectors are mutually exclusive');
  }
  for (const option of UNSUPPORTED_OPTIONS) {
    if (isNonEmpty(bond, option)) scope.error(`${path}.${option}`, `bond option ${option} is not supported`);
  }

  const mode = strAt(bond, 'mode');
  if (mode !== undefined && mode !== '') {
    if (!BOND_MODES.includes(mode)) {
      scope.error(`${path}.mode`, `unknown bond mode ${show(mode)}: must be one of ${BOND_MODES.join(', ')}`);
    } else {
      for (const [option, modes] of Object.entries(MODE_ONLY_OPTIONS)) {
        if (isNonEmpty(bond, option) && !modes.includes(mode))
          scope.error(`${path}.${option}`, `only applies in bond mode ${modes.join(' or ')}, not ${mode}`);
      }
      if (NO_ARP_MODES.includes(mode)) {
        for (const option of ARP_OPTIONS) {
          if (isNonEmpty(bond, option) && !UNSUPPORTED_OPTIONS.includes(option))
            scope.error(`${path}.${option}`, `ARP monitoring does not apply in bond mode ${mode}`);
        }
      }
    }
  }

  const miimon = numAt(bond, 'miimon') ?? 0;
  for (const spellings of DELAY_OPTIONS) {
    for (const option of spellings) {
      const delay = numAt(bond, option);
      if (delay === undefined || delay === 0) continue;
      if (miimon === 0) scope.error(`${path}.${option}`, 'needs a non-zero miimon');
      else if (delay % miimon !== 0) scope.error(`${path}.${option}`, `must be a multiple of miimon (${miimon})`);
    }
  }
}
