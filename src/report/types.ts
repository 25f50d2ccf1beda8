/** What the sweep hands to the report renderer. */

export interface PrivacyFigures {
  /** Probes searched (released images, or labels for a pooling attacker). */
  probes?: number;
  /** 'label': one pooled search per released label (identity-level), else one per image. */
  unit?: 'probe' | 'label';
  instanceTop1: number;
  identityTop1: number;
  identityTop5: number;
  identityTop10: number;
  meanCosineToSource: number;
}

export interface UtilityFigures {
  /** Mean k-fold verification accuracy in [0,1]. */
  accuracy: number;
  std: number;
  /** TAR at FAR=1e-3 when the set is large enough to estimate it. */
  tarAtFar?: number;
  /** Per-pair correctness as a '0'/'1' string (pairs in set order), for bootstrap intervals. */
  pairCorrect?: string;
  /** 95% bootstrap interval of `accuracy` over pairs. */
  ci95?: [number, number];
  /** Paired bootstrap differences to reference rows ('original', FaceMAE), by row id. */
  vs?: Record<
    string,
    { diff: number; ci95: [number, number]; p: number; significant: boolean; paired?: boolean }
  >;
}

export type RowStatus = 'ok' | 'partial' | 'not available' | 'failed';

export interface ReportRow {
  id: string;
  /** 'original' | 'facemae' | 'mask' | 'blur' | 'pixelate' | 'noise' */
  method: string;
  label: string;
  strength?: number;
  /** FaceMAE rows released with a paste-back weight other than 1 (the release knob). */
  pasteBack?: number;
  /** The worst case over the attackers (the one with the highest identity top-1). */
  privacy?: PrivacyFigures;
  /** Each attacker's figures, by attacker spec. */
  privacyByAttacker?: Record<string, PrivacyFigures>;
  /** The attacker `privacy` comes from. */
  worstAttacker?: string;
  /** 95% interval of the worst case's identity top-1 (Wilson, over its probes or labels). */
  worstCi95?: [number, number];
  /**
   * The strongest frozen attacker's identity top-1 (a recognizer that never saw a protected
   * face): what a non-adaptive audit would report, shown beside the worst case.
   */
  frozenIdentityTop1?: number;
  /** By verification-set name. */
  utility: Record<string, UtilityFigures>;
  status: RowStatus;
  /** Why a figure is missing (a step not available, failed, or skipped). */
  notes: string[];
}

export interface ReportGrid {
  /** Path relative to the report folder. */
  file: string;
  columns: string[];
  caption: string;
  /** Cell side in px, to align the column labels. */
  cell: number;
  pad: number;
}

export interface ReportData {
  title: string;
  createdAt: string;
  /** The attackers, comma-separated. */
  attacker: string;
  teacher: string;
  verificationSets: string[];
  rows: ReportRow[];
  chance: { instanceTop1: number; identityTop1: number; identityTop5: number; identityTop10: number };
  grids: ReportGrid[];
  /** The resolved sweep config, shown verbatim. */
  config: unknown;
  notes: string[];
  /** Step outcomes, for the run log section. */
  steps: Array<{ id: string; status: string; seconds?: number; error?: string }>;
}
