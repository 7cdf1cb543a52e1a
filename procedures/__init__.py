"""The catalogue: procedures, their versions (form schema, workflow, fees, five-less
profile), the form engine, the policy check and the builder. Built in issue #4."""
