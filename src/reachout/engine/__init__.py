"""The engine: the only place where time passes. It claims due work from the database, in time
order, and moves campaigns, participants and contacts along."""
