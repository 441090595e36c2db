#!/usr/bin/env node
import "../dist/bundle/entry.js";
