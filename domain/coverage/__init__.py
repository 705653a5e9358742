"""Social-protection coverage per contract (insurance, registration with the
destination's social security) and the reference table of bilateral labour
and social-security agreements (BLA / SSA) per country. What a migrant is
owed on return by the destination's scheme is a claim (domain/claims, basis
'return'), followed like any other."""
