// types.ts: the shapes of the API's answers the apps use (docs/openapi.yaml, components).

export interface Balance {
  account_id: number;
  type: "cash" | "bonus" | "locked";
  currency: string;
  exponent: number;
  posted_minor: number;
  available_minor: number;
  pending_debits_minor: number;
  pending_credits_minor: number;
}

export interface Transaction {
  id: number;
  time: string;
  kind: string;
  code: string;
  currency: string;
  amount_minor: number;
  direction: "debit" | "credit";
  reference: string;
}


export interface Block {
  block: string;
  reason: string;
  since: string;
}

export interface Player {
  player_id: string;
  brand: string;
  email: string;
  date_of_birth: string;
  country: string;
  currency: string;
  status: string;
  created_at: string;
  totp_enabled?: boolean;
  blocks?: Block[];
}

export interface StaffPlayer extends Player {
  pii_masked: boolean;
  login_locked_for_s?: number;
}

export interface Session {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string;
  current: boolean;
}

export interface AuditEntry {
  id: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
  reason: string;
  before: unknown;
  after: unknown;
  ref: string;
}

export interface KycDocument {
  document_id: string;
  type: string;
  reference: string;
  status: string;
  submitted_at: string;
  reviewer?: string;
  reason?: string;
}

export interface KycEvent {
  seq: number;
  from: string;
  to: string;
  from_tier: number;
  to_tier: number;
  actor: string;
  reason: string;
  at: string;
}

export interface KycState {
  player_id: string;
  state: "none" | "pending" | "verified" | "rejected";
  tier: number;
  documents: KycDocument[];
  events?: KycEvent[];
  kyc_required?: string[];
}

// ---- casino (docs/openapi.yaml: CasinoRound, games, fair seeds) ----

export interface StakeLimits {
  currency: string;
  min_stake_minor: number;
  max_stake_minor: number;
}

export interface Game {
  id: string;
  name: string;
  kind: string;
  rtp: string;
  rtp_ppm: number;
  provably_fair: boolean;
  enabled: boolean;
  stake_limits: StakeLimits[];
  default_stake_limits: { min_stake_minor: number; max_stake_major: number };
}

export interface CatalogGame {
  game_id: string;
  provider: string;
  external_id: string;
  name: string;
  category: string;
  tags: string[];
  rtp_bp: number;
  volatility: string;
  jurisdictions: string[];
  brands: string[];
  enabled: boolean;
  ordering: number;
}

export interface Round {
  round_id: number;
  player_id: string;
  game_id: string;
  provider: string;
  external_id?: string;
  currency: string;
  exponent: number;
  stake_minor: number;
  stake: string;
  payout_minor: number;
  payout: string;
  state: string;
  opened_at: string;
  updated_at: string;
  detail: any;
  fair_reveal?: { server_seed: string; revealed_at: string } | null;
}

export interface PlayResult {
  round: Round;
  balance?: { currency: string; exponent: number; available_minor: number; posted_minor: number };
}

export interface FairSeeds {
  server_seed_hash: string;
  client_seed: string;
  nonce: number;
  created_at: string;
}

export interface FairRevealed {
  server_seed: string;
  server_seed_hash: string;
  client_seed: string;
  nonces: number;
  created_at: string;
  revealed_at: string;
}

export interface GameConfig {
  game_id: string;
  enabled: boolean;
  rtp_ppm: number;
  rtp_ppm_offered: number[];
  limits: StakeLimits[];
  updated_at: string | null;
  updated_by: string;
}

// ---- responsible gaming (docs/rg.md) ----

export interface RgLimit {
  limit: "deposit" | "loss" | "wager" | "session_time";
  window: "24h" | "7d" | "30d";
  currency?: string;
  value_minor?: number;
  used_minor?: number;
  remaining_minor?: number;
  value_s?: number;
  used_s?: number;
  pending?: { value_minor?: number; value_s?: number; effective_at: string; removal: boolean } | null;
}

export interface RgStatus {
  player_id: string;
  rule_set: string;
  exclusion: { kind: "time_out" | "self_exclusion"; permanent: boolean; from: string; until: string | null } | null;
  marketing_allowed: boolean;
  deposit_limit_prompt_required: boolean;
  reality_check_minutes: number;
  rules: { time_out_hours?: [number, number]; self_exclusion_months?: [number, number];
    self_exclusion_permanent?: boolean; cooling_hours?: number };
  limits: RgLimit[];
}

export interface RealityCheck {
  session_id?: string;
  elapsed_s: number;
  interval_minutes?: number;
  net: Array<{ currency: string; stakes_minor: number; wins_minor: number; net_minor: number }>;
}

// ---- payments ----

export interface PaymentMethod {
  method: string;
  psp: string;
  min_minor: number;
  max_minor: number;
  fee_fixed_minor: number;
  fee_basis_points: number;
  fee_bearer: "player" | "operator";
  deposit: boolean;
  withdrawal: boolean;
}

export interface Deposit {
  deposit_id: string;
  method: string;
  psp: string;
  currency: string;
  amount_minor: number;
  fee_minor: number;
  fee_bearer: string;
  state: "initiated" | "pending" | "succeeded" | "failed" | "expired";
  reference: string;
  redirect_url?: string;
  created_at: string;
  updated_at: string;
  expires_at: string;
}

export interface Withdrawal {
  withdrawal_id: string;
  player_id: string;
  method: string;
  currency: string;
  amount_minor: number;
  state: string;
  review_reasons: string[];
  reviewer: string;
  reason: string;
  reference: string;
  destination?: string;
  created_at: string;
  updated_at: string;
}
