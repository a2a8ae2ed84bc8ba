"""Member lists: the Excel declaration template a grassroots union (CĐCS) fills in, the reference
lists it draws from, and the pure checks run on an uploaded list and its 2x3 photos before the upper
level approves it. No database, no Flask."""
