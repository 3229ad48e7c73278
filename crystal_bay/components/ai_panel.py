"""The AI panel of the lead workspace: score and reasons, the AI's stage proposal, reply drafts."""

from __future__ import annotations

import reflex as rx

from crystal_bay.state.ai import AIState

T = AIState.t


def _score() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(T["ai.score"], size="1", color_scheme="gray"),
            rx.badge(AIState.live_score, size="2", variant="solid", data_testid="ai-score",
                     color_scheme=rx.cond(AIState.live_score >= 70, "green",
                                          rx.cond(AIState.live_score >= 40, "amber", "gray"))),
            rx.spacer(),
            rx.cond(AIState.live_score.to_string() != AIState.score,
                    rx.button(T["ai.save_score"], size="1", variant="ghost", on_click=AIState.save_score)),
            align="center", width="100%",
        ),
        rx.foreach(AIState.live_reasons, lambda reason: rx.text("• ", reason, size="1")),
        spacing="1", width="100%", data_testid="ai-reasons",
    )


def _proposal() -> rx.Component:
    return rx.cond(
        AIState.proposal_stage_id != "",
        rx.callout.root(
            rx.hstack(
                rx.callout.text(T["ai.proposal"], ": ", rx.text.strong(AIState.proposal_stage), " (",
                                T["ai.confidence"], " ", AIState.proposal_confidence, ")"),
                rx.spacer(),
                rx.button(T["ai.apply"], size="1", on_click=AIState.apply_proposal, data_testid="ai-apply"),
                align="center", width="100%",
            ),
            size="1", color_scheme="violet", width="100%",
        ),
    )


def _draft() -> rx.Component:
    busy = AIState.ai_busy
    return rx.vstack(
        rx.hstack(
            rx.button(rx.icon("sparkles", size=14), T["ai.suggest"], size="1", on_click=AIState.suggest,
                      disabled=busy, data_testid="ai-suggest"),
            rx.button(rx.icon("scan-text", size=14), T["ai.analyse"], size="1", variant="soft",
                      on_click=AIState.analyse_last, disabled=busy),
            rx.cond(busy, rx.hstack(rx.spinner(size="1"), rx.text(T["ai.working"], size="1"), align="center")),
            spacing="2", wrap="wrap",
        ),
        rx.text_area(default_value=AIState.draft, key=AIState.draft_key, on_blur=AIState.set_draft,
                     placeholder=T["ai.draft_placeholder"], rows="6", width="100%", data_testid="ai-draft"),
        rx.hstack(
            rx.el.span(
                rx.button(T["ai.translate"], size="1", variant="soft", on_click=AIState.translate_draft,
                          disabled=busy | ~AIState.translate_available, data_testid="ai-translate"),
                title=rx.cond(AIState.translate_available, "", T["ai.translate_needs_openai"]),
            ),
            rx.button(T["ai.improve"], size="1", variant="soft", on_click=AIState.improve_draft, disabled=busy),
            rx.button(T["ai.shorten"], size="1", variant="soft", on_click=AIState.shorten_draft, disabled=busy),
            rx.spacer(),
            rx.button(rx.icon("copy", size=14), T["ai.copy"], size="1", variant="ghost",
                      on_click=[rx.set_clipboard(AIState.draft), rx.toast.info(T["ai.copied"])]),
            spacing="2", width="100%", wrap="wrap",
        ),
        rx.cond(~AIState.translate_available,
                rx.text(T["ai.translate_needs_openai"], size="1", color_scheme="gray", data_testid="ai-translate-hint")),
        rx.cond(AIState.draft_engine != "",
                rx.text(rx.cond(AIState.draft_engine == "openai", T["ai.draft_by.openai"], T["ai.draft_by.rules"]),
                        size="1", color_scheme="gray")),
        rx.cond(AIState.ai_error != "", rx.callout(AIState.ai_error, color_scheme="red", size="1",
                                                   data_testid="ai-error")),
        spacing="2", width="100%",
    )


def ai_panel() -> rx.Component:
    """The panel; it loads its own data when it mounts (keyed by the lead, so a new lead remounts it)."""
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("sparkles", size=16),
                rx.text(T["ai.title"], weight="bold", size="2"),
                rx.spacer(),
                rx.badge(rx.cond(AIState.ai_mode == "openai", T["ai.mode.openai"], T["ai.mode.rules"]),
                         variant="soft", title=T["ai.mode.hint"]),
                align="center", width="100%",
            ),
            _score(),
            _proposal(),
            _draft(),
            spacing="3", width="100%",
        ),
        width="100%",
        key=AIState.lead_id,
        on_mount=AIState.load_ai,
        data_testid="ai-panel",
    )
