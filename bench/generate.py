"""Bulk data for the read benchmarks: customers, 10 000 facilities and 1 000 000 orders,
written straight into the orders service's PostgreSQL database (as an ERP import would)."""

from __future__ import annotations

import asyncio

import asyncpg

STATEMENTS = [
    """INSERT INTO customers (id, name, updated_at)
       SELECT gen_random_uuid(), 'Bench Kund ' || g, now() FROM generate_series(1, $1::int) g""",
    """INSERT INTO facilities (id, customer_id, name, address, city, reference_number,
                               categories, category_index, active, updated_at)
       SELECT gen_random_uuid(), c.id, 'Anläggning ' || g, 'Gatan ' || g, 'Stad ' || (g % 50),
              'R-' || g, '["Ventilation"]', '|ventilation|', true, now()
       FROM generate_series(1, $2::int) g
       JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM customers) c
         ON c.rn = (g % $1::int) + 1""",
    """WITH f AS (SELECT id, customer_id, row_number() OVER (ORDER BY id) - 1 AS rn
                  FROM facilities),
            n AS (SELECT count(*) AS c FROM facilities)
       INSERT INTO orders (id, order_number, customer_id, facility_id, status, description,
                           planned_start, origin, rows, value, created_at, updated_at)
       SELECT gen_random_uuid(), 5000000 + g, f.customer_id, f.id,
              (ARRAY['planned','started','completed','invoiced','cancelled'])[1 + g % 5],
              'Serviceorder ' || g,
              now() + ((g % 120) - 60) * interval '1 day',
              'staff', '[]', ((g::bigint * 7919) % 100000) / 10.0,
              now() - (g % 1095) * interval '1 day' - (g % 86400) * interval '1 second', now()
       FROM generate_series(1, $1::int) g
       JOIN f ON f.rn = g % (SELECT c FROM n)""",
    "SELECT setval('order_number_seq', 9000000)",
    "ANALYZE",
]


async def generate(dsn: str, *, customers: int, facilities: int, orders: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(STATEMENTS[0], customers)
        await conn.execute(STATEMENTS[1], customers, facilities)
        await conn.execute(STATEMENTS[2], orders)
        for statement in STATEMENTS[3:]:
            await conn.execute(statement)
    finally:
        await conn.close()


def run(dsn: str, **sizes: int) -> None:
    asyncio.run(generate(dsn.replace("postgresql+asyncpg", "postgresql"), **sizes))
