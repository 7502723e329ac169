-- Every re-sighting of a person or company updates its slot (last seen, the load that fed it),
-- usually changing no indexed column. With room left on each page the new row version stays on
-- its page (a HOT update) instead of a new entry in each of the slot's indexes.
alter table people.slot set (fillfactor = 80);
alter table company.slot set (fillfactor = 80);
