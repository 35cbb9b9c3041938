"""Actions on findings: alerts (Teams, email), private endpoints and DNS, recreation."""
