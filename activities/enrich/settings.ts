/** How the Apify branch calls its LinkedIn profile actor (from config; see worker/provider-workers.ts). */
export interface EnrichSettings {
  /** LinkedIn profile actor ("user~name") and the input field its profile URLs go in. */
  apifyActor?: string;
  apifyInputKey: string;
  apifyProfilesPerRun: number;
}
