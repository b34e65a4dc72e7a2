"""Server-rendered pages: the customer portal at / and the staff admin at /admin."""
