/** The messages between the lineage page and its layout worker. */

export interface LayoutRequest {
  readonly id: number;
  readonly nodes: readonly { readonly name: string; readonly width: number; readonly height: number }[];
  readonly edges: readonly (readonly [string, string])[];
}

export interface LayoutResult {
  readonly id: number;
  readonly width: number;
  readonly height: number;
  /** Centre of each node. */
  readonly positions: Readonly<Record<string, { readonly x: number; readonly y: number }>>;
  readonly edges: readonly { readonly from: string; readonly to: string; readonly points: readonly { readonly x: number; readonly y: number }[] }[];
}
