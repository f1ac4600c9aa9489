"""Figure builders: pure functions from DataFrames to Plotly figures (no Dash, no database)."""
