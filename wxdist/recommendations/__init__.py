"""Product recommendations for distributors (智能化推荐): what is likely to sell through
each one, ranked from order history (`ranking`, whose docstring gives the formula), read
from the database in set-based batches (`signals`), stored by a periodic job (`refresh`)
and read by the distributor centre (`service`).

May import: every domain package below it (distribution for the earning per unit). Only
surfaces import it.
"""
