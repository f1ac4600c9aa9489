"""Read-side queries shared by the dashboard callbacks and the REST API: filters in, DataFrames out."""
