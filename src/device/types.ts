/**
 * Device profile types: the TypeScript mirror of devices/device.schema.json.
 *
 * Units everywhere: conductance µS, time s (counted from the end of programming),
 * energy pJ, latency ns. Expressions are strings in aimc's small math language
 * (see src/device/expr.ts); a plain number is accepted wherever an expression is.
 */

/** An expression string (or a constant) evaluated element-wise over conductances. */
export type Expr = string | number;

/** Variables an expression may use, per field. Documented in devices/README.md. */
export const EXPR_VARIABLES = {
  /** programming.std, drift.nuMean, drift.nuStd, relaxation.points[].std */
  target: ['g', 'r', 'gMax', 'gMin'] as const,
  /** readNoise.q: depends on the programmed (not target) conductance, as in aihwkit. */
  programmed: ['gProg', 'rProg', 'gMax', 'gMin'] as const,
};

export interface ConductanceSection {
  /** Lowest programmable conductance, µS. */
  gMin: number;
  /** Highest programmable conductance; max |W| of a tile (or column) maps here, µS. */
  gMax: number;
  /** Finite number of programmable levels evenly spaced in [gMin, gMax]; null = continuous. */
  levels: number | null;
}

export interface MappingSection {
  /**
   * differential: w>0 on G+, w<0 on G-, w = (G+ - G-)/(gMax-gMin) * wmax.
   * single: one device per weight, w in [-wmax, wmax] mapped linearly onto [gMin, gMax].
   */
  scheme: 'differential' | 'single';
  /** Physical devices behind one conductance (HERMES: 2). Characterized statistics already include it; cost counts it. */
  devicesPerConductance: number;
  /** Granularity of the weight-to-conductance scale: one max|W| per tile or per tile column. */
  weightScaling: 'tile' | 'column';
  /** Weight bit slicing: each weight over `count` devices (or pairs) of base-`base` significance; absent = one. */
  slices?: { count: number; base: number } | null;
}

export interface ProgrammingSection {
  /** Std of the programming error, µS. Variables: g, r, gMax, gMin. */
  std: Expr;
  /** Iterative program-and-verify; absent or null: one programming pulse per device. */
  writeVerify?: WriteVerifySection | null;
}

export interface WriteVerifySection {
  /** Program-and-verify cycles at most (1 = program once, no retry). */
  iterations: number;
  /** A device whose programmed conductance is within ±tolerance of its target is accepted, µS. */
  tolerance: number;
}

export interface DriftSection {
  /** First-read time: drift and read noise count t' = t + t0, s. */
  t0: number;
  /** Mean of the drift exponent ν (dimensionless). Variables: g, r, gMax, gMin. */
  nuMean: Expr;
  /** Std of the drift exponent ν. Variables: g, r, gMax, gMin. */
  nuStd: Expr;
  /** ν = |N(mean, std)| (folded normal, as aihwkit) or N(mean, std) clipped at 0. */
  nuDistribution: 'folded-normal' | 'clipped-normal';
}

export interface ReadNoiseSection {
  /** Read duration in the accumulated 1/f model, s. */
  tRead: number;
  /** 1/f noise coefficient Q (dimensionless). Variables: gProg, rProg, gMax, gMin. */
  q: Expr;
}

export interface RelaxationPoint {
  /** Time after programming at which this spread was measured, s. */
  t: number;
  /** Std of the conductance about its target at time t, µS. Variables: g, r, gMax, gMin. */
  std: Expr;
}

export interface RelaxationSection {
  /** Measured spreads at increasing times; interpolated linearly in log-time between them. */
  points: RelaxationPoint[];
  /** After the last point: hold the last spread, or extend the last segment's log-time slope. */
  beyondLast: 'hold' | 'extrapolate';
}

export interface FaultsSection {
  /** Fraction of devices stuck at gMin. */
  stuckAtGMin: number;
  /** Fraction of devices stuck at gMax. */
  stuckAtGMax: number;
}

export interface ScalesSection {
  /** Multiplies programming-noise std (aihwkit prog_noise_scale). */
  programming: number;
  /** Multiplies the drift exponent ν (aihwkit drift_scale). */
  drift: number;
  /** Multiplies read / relaxation noise std (aihwkit read_noise_scale). */
  read: number;
}

export interface ConverterSpec {
  /** Resolution 1/(2^bits - 2) of the bound, as aihwkit's inp_res/out_res; null = no quantization. */
  bits: number | null;
  /** Clip level: DAC in units of the normalized input, ADC in units of a full-scale unit-weight output. */
  bound: number;
}

/** The output ADC: a converter plus, optionally, a circuit model with per-column mismatch. */
export interface AdcSpec extends ConverterSpec {
  /** ideal (default): uniform quantizer; ramp: single-slope, per-column gain and offset; sar: successive approximation over mismatched capacitors. */
  model?: 'ideal' | 'ramp' | 'sar';
  /** Comparator offset std per column, LSB (ramp, sar). */
  offsetStd?: number;
  /** Ramp slope (gain) error std per column, relative (ramp). */
  gainStd?: number;
  /** Relative std of one unit capacitor; bit k (2^k units) gets capacitorMismatch/√(2^k) (sar). */
  capacitorMismatch?: number;
  /** Calibrated ranges: each ADC's range set at programming from calibration inputs (absent or null: the fixed bound). */
  calibration?: AdcCalibration | null;
}

export interface PeripherySection {
  dac: ConverterSpec;
  adc: AdcSpec;
  /** Additive Gaussian output noise std, units of a full-scale unit-weight output. */
  outputNoise: number;
  /** abs-max: scale each input row (per tile) by its max |x| before the DAC. */
  noiseManagement: 'abs-max' | 'none';
  /** iterative: halve the input scale and repeat while an output saturates. */
  boundManagement: 'iterative' | 'none';
  /** Maximum number of halvings in iterative bound management. */
  boundManagementIterations: number;
  /** Input bit slicing: DAC bits applied per pass, each pass through the array and the ADC, shift-and-added digitally; absent = one pass. */
  inputBitsPerPass?: number;
  /** Gaussian input noise std after the DAC, units of the normalized input (aihwkit inp_noise); absent = 0. */
  inputNoise?: number;
  /** S-shaped output non-linearity before the ADC (aihwkit out_nonlinearity); absent or null = linear. */
  outputNonlinearity?: OutputNonlinearitySection | null;
}

export interface OutputNonlinearitySection {
  /** y → y / (1 + n·|y|) with n = strength / adc.bound · max(0, 1 + std·ε), ε ~ N(0, 1) per tile column, drawn per chip. */
  strength: number;
  /** Column-to-column variation of n, as a fraction of it (aihwkit out_nonlinearity_std). */
  std: number;
}

/** ADC range calibration: the range is this quantile of |analog output| seen at programming, per array or per column. */
export interface AdcCalibration {
  quantile: number;
  granularity?: 'array' | 'column';
}

export interface TileSection {
  rows: number;
  cols: number;
  /** Wire resistance per cell segment, Ω (absent or null: ideal wires). */
  irDrop?: IrDropSection | null;
}

/** IR drop on a tile's wires: resistance of one segment of a word line and of a bit line, Ω (0 = ideal). */
export interface IrDropSection {
  rowSegment: number;
  colSegment: number;
}

export interface DriftCompensationSection {
  /** Global drift compensation: rescale each layer's output by reference/current readout. */
  enabled: boolean;
  /** layer: one factor per layer (default); column: one per tile column (aihwkit PerColumnDriftCompensation). */
  granularity?: 'layer' | 'column';
}

export interface TemperatureSection {
  /** Temperature the profile's statistics were characterized at, K. */
  reference: number;
  /** Temperature the chip is read at, K (absent: the reference; `--temperature` sets it). */
  operating?: number;
  /** Drift activation energy Ea, eV: at T, drift advances as t·exp(Ea/k_B·(1/T_ref − 1/T)) would at T_ref. */
  driftActivationEnergy: number;
  /** Relative conductance change per kelvin, 1/K: G(T) = G·(1 + α·(T − T_ref)). */
  conductanceCoefficient: number;
  /** Where the numbers come from. */
  sources: string[];
}

export interface CostSection {
  /** Energy per DAC conversion (one input row element), pJ. */
  dacEnergy: number;
  /** Energy per ADC conversion (one output column element), pJ. */
  adcEnergy: number;
  /** Energy per device read during one MVM, pJ. */
  cellReadEnergy: number;
  /** Latency of one tile MVM, ns. */
  mvmLatency: number;
  /** Where the constants come from. */
  sources: string[];
}

export interface DeviceProfile {
  $schema?: string;
  name: string;
  description: string;
  /** Papers / code the statistics come from. */
  sources: string[];
  conductance: ConductanceSection;
  mapping: MappingSection;
  programming: ProgrammingSection;
  drift: DriftSection | null;
  readNoise: ReadNoiseSection | null;
  relaxation: RelaxationSection | null;
  faults: FaultsSection;
  scales: ScalesSection;
  periphery: PeripherySection;
  tile: TileSection;
  driftCompensation: DriftCompensationSection;
  cost: CostSection;
  /** Temperature dependence of drift and conductance; absent or null: none (the profile holds at any temperature). */
  temperature?: TemperatureSection | null;
}
