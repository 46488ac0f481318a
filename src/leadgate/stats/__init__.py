"""Lead counts for the dashboards: a rollup the database keeps on every write of a lead."""
