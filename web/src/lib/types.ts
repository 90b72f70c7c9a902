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
