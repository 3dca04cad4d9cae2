import { tempDir, writeProjectFiles } from '../e2e/helpers.js';

/**
 * A dbt project of events over four days whose seed declares its event time, and models of
 * dbt's incremental strategies over it, for the tests of merge, delete+insert and microbatch.
 */

/** Six events over four days. */
export const EVENTS = `event_id,user_id,amount,event_at
1,10,5,2024-01-01 08:00:00
2,11,7,2024-01-01 23:30:00
3,10,3,2024-01-02 00:00:00
4,12,9,2024-01-02 12:00:00
5,11,1,2024-01-03 06:00:00
6,12,2,2024-01-04 10:00:00
`;

/** A dbt project whose seed of events declares its event time, with `files` added. */
export function eventsProject(files: Record<string, string>): string {
  const dir = tempDir();
  writeProjectFiles(dir, {
    'dbt_project.yml': `name: shop
seeds:
  shop:
    events:
      +event_time: event_at
      +column_types: {event_at: timestamp}
`,
    'seeds/events.csv': EVENTS,
    ...files,
  });
  return dir;
}

/** Per user, the events up to the run's date: the same user's row is replaced by each run. */
export const USERS = `select user_id, count(*) as events, sum(amount) as spent
from {{ ref('events') }}
where event_at < '{{ interval_end }}'
group by user_id
`;

/** A microbatch model of the events per day, with more `config` keys. */
export const DAILY = (config: string): string => `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='day', batch_size='day', begin='2024-01-01'${config}) }}
select cast(event_at as date) as day, count(*) as events, sum(amount) as amount
from {{ ref('events') }}
group by 1
`;
