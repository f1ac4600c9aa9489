"""A figure that shows a sentence instead of data (no data yet, nothing selected, query failed)."""
from __future__ import annotations

import plotly.graph_objects as go

from figures.theme import palette, template


def message_figure(text: str, dark: bool = False, height: int | None = None) -> go.Figure:
    """A blank figure with one centred message and no axes."""
    fig = go.Figure(layout={"template": template(dark), "height": height})
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": palette(dark)["muted"]})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
