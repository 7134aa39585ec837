"""From desired and actual state to a Plan: the diff, the plan value, saved plans and the safety gates."""
