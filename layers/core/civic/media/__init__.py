"""Imaging and video: safe renditions and container checks, no AWS."""
