"""Money claims: what a migrant is owed by an employer (unpaid wages,
end-of-service benefits, withheld documents' costs) or, on return, by the
destination's social-security scheme, followed step by step until recovered."""
