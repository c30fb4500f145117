// plain.js - pages without the navigation (the 404 page): the theme switch only.
import { setupTheme } from './layout.js';

setupTheme();
