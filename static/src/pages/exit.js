// Signed-out pages (landing, safety, log in): the quick exit and nothing else.
import { installQuickExit } from "../quickexit.js";

installQuickExit();
