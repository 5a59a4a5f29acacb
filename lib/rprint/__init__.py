"""lib.rprint: R's layouts: tables as cells, rendered as R's text and as DataFrames."""
