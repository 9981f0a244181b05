"""Disclosure control over everything published: the linked system of published magnitudes (`system`), the
attacker's audit (`audit`) and the secondary suppression that meets the protection levels (`secondary`)."""
