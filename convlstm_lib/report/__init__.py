"""The report: notebooks rendered with nbconvert, a summary and the comparison with the paper."""
