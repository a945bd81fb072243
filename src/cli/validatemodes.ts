// Talos's validation modes (talosctl validate --mode), apart from the checks themselves so the
// plugin's command line can offer them without loading the validators.

export const MODES = ['metal', 'cloud', 'container'] as const;
export type ValidateMode = (typeof MODES)[number];
